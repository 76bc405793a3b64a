func.func @f0(%a0: tensor<2x1x1x3xf32>, %a1: tensor<2x1x13x3xf32>, %a2: tensor<2x1x13x15xf32>) -> (tensor<2x1x1x15xf32>) {
  %v1_init = tensor.empty() : tensor<2x1x1x15xf32>
  %v1 = clus.attention %a0, [%a1, %a2] outs(%v1_init)
      : tensor<2x1x1x3xf32>, [tensor<2x1x13x3xf32>, tensor<2x1x13x15xf32>]
      -> tensor<2x1x1x15xf32>
  return %v1 : tensor<2x1x1x15xf32>
}

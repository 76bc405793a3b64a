func.func @f0(%a0: tensor<1x3x7x48xf32>, %a1: tensor<1x3x10x48xf32>, %a2: tensor<1x3x10x64xf32>) -> (tensor<1x3x7x64xf32>) {
  %v1_init = tensor.empty() : tensor<1x3x7x64xf32>
  %v1 = clus.attention %a0, [%a1, %a2] outs(%v1_init)
      : tensor<1x3x7x48xf32>, [tensor<1x3x10x48xf32>, tensor<1x3x10x64xf32>]
      -> tensor<1x3x7x64xf32>
  return %v1 : tensor<1x3x7x64xf32>
}

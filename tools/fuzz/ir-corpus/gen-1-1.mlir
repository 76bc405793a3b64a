func.func @f0(%a0: tensor<1x1x49xf32>, %a1: tensor<1x49x65xf32>) -> (tensor<1x1x65xf32>) {
  %v1_init = tensor.empty() : tensor<1x1x49xf32>
  %v1 = clus.soft_assign %a0 outs(%v1_init) : tensor<1x1x49xf32>
  %v2_init = tensor.empty() : tensor<1x1x65xf32>
  %v2 = clus.pool %a0, %a1 outs(%v2_init)
      : tensor<1x1x49xf32>, tensor<1x49x65xf32> -> tensor<1x1x65xf32>
  return %v2 : tensor<1x1x65xf32>
}

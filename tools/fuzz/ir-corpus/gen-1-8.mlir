func.func @f0(%a0: tensor<1x13x16xf32>, %a1: tensor<1x16x16xf32>) -> (tensor<1x13x16xf32>) {
  %v1_init = tensor.empty() : tensor<1x13x16xf32>
  %v1 = clus.soft_assign %a0 axis = tokens outs(%v1_init) : tensor<1x13x16xf32>
  %v2_init = tensor.empty() : tensor<1x13x16xf32>
  %v2 = clus.pool %a0, %a1 outs(%v2_init)
      : tensor<1x13x16xf32>, tensor<1x16x16xf32> -> tensor<1x13x16xf32>
  return %v2 : tensor<1x13x16xf32>
}

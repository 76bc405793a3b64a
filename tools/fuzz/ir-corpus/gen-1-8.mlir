func.func @f0(%a0: tensor<1x13x16xf32>, %a1: tensor<1x16x16xf32>) -> (tensor<1x13x16xf32>) {
  %v1 = clus.soft_assign %a0 axis = tokens : tensor<1x13x16xf32>
  %v2 = clus.pool %a0, %a1 : tensor<1x13x16xf32>, tensor<1x16x16xf32>
  return %v2 : tensor<1x13x16xf32>
}

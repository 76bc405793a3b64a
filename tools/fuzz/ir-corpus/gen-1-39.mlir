func.func @f0(%a0: tensor<1x196x15xf32>) -> (tensor<1x2x196xi32>, tensor<1x2x16xi32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [16, 11] k = 3 : tensor<1x196x15xf32>
  return %v1, %v2 : tensor<1x2x196xi32>, tensor<1x2x16xi32>
}

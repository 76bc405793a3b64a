func.func @f0(%a0: tensor<1x8x65xf32>) -> (tensor<1x2x8xi32>, tensor<1x2x7xi32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [6, 7] k = 6 : tensor<1x8x65xf32>
  return %v1, %v2 : tensor<1x2x8xi32>, tensor<1x2x7xi32>
}

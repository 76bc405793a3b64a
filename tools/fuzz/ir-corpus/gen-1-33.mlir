func.func @f0(%a0: tensor<1x3x3xbf16>, %a1: tensor<?x?xi32>, %a2: tensor<?x8x?xf32>) -> (tensor<1x15x3xbf16>, tensor<?x3x8xi32>, tensor<?x3x6xi32>) {
  %v1 = clus.aggregate %a0, %a1 clusters = 15 reduction = sum eps = 0.0 : tensor<1x3x3xbf16>, tensor<?x?xi32>
  %v2, %v3 = clus.dpc_knn %a2 clusters = [1, 4, 6] : tensor<?x8x?xf32>
  return %v1, %v2, %v3 : tensor<1x15x3xbf16>, tensor<?x3x8xi32>, tensor<?x3x6xi32>
}

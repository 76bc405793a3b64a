func.func @f0(%a0: tensor<?x?x3xf32>) -> (tensor<?x1x?xi32>, tensor<?x1x14xi32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [14] : tensor<?x?x3xf32>
  return %v1, %v2 : tensor<?x1x?xi32>, tensor<?x1x14xi32>
}

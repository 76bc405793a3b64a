func.func @f0(%a0: tensor<?x?x1xf32>) -> (tensor<?x2x?xi32>, tensor<?x2x2xi32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [2, 2] k = 3 : tensor<?x?x1xf32>
  return %v1, %v2 : tensor<?x2x?xi32>, tensor<?x2x2xi32>
}

func.func @f0(%a0: tensor<?x?x?xf16>) -> (tensor<?x?xi32>, tensor<?x1x?xf16>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 1 iterations = 1 : tensor<?x?x?xf16>
  return %v1, %v2 : tensor<?x?xi32>, tensor<?x1x?xf16>
}

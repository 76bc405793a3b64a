func.func @f0(%a0: tensor<2x17x33xf16>, %a1: tensor<2x11x33xf16>) -> (tensor<2x11x33xf16>, tensor<2x17x33xf16>) {
  %v1 = arith.constant dense<0> : tensor<2x17xi32>
  %v2 = clus.aggregate %a0, %v1 clusters = 11 reduction = mean eps = 0.0 : tensor<2x17x33xf16>, tensor<2x17xi32>
  %v3 = clus.broadcast %a1, %v1 : tensor<2x11x33xf16>, tensor<2x17xi32>
  return %v2, %v3 : tensor<2x11x33xf16>, tensor<2x17x33xf16>
}

func.func @f1(%a0: tensor<?x4x7xf32>, %a1: tensor<1x?x?xf32>) -> (tensor<1x4x?xf32>) {
  %v1 = clus.soft_assign %a0 axis = tokens : tensor<?x4x7xf32>
  %v2 = clus.pool %v1, %a1 : tensor<?x4x7xf32>, tensor<1x?x?xf32>
  return %v2 : tensor<1x4x?xf32>
}

func.func @f2(%a0: tensor<?x?x?xf32>, %a1: tensor<?x?x?xf16>) -> (tensor<?x?x?xf32>, tensor<?x2x?xi32>, tensor<?x2x10xi32>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 8 iterations = 2 metric = l2 : tensor<?x?x?xf32>
  %v3 = clus.broadcast %v2, %v1 : tensor<?x8x?xf32>, tensor<?x?xi32>
  %v4, %v5 = clus.dpc_knn %a1 clusters = [8, 10] : tensor<?x?x?xf16>
  return %v3, %v4, %v5 : tensor<?x?x?xf32>, tensor<?x2x?xi32>, tensor<?x2x10xi32>
}

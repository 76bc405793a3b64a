func.func @f0(%a0: tensor<?x?x?xf32>, %a1: tensor<?x?x?xf16>, %a2: tensor<?x?x?xf16>) -> (tensor<?x1x?xi32>, tensor<?x1x3xi32>, tensor<?x?x?xf16>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [3] k = 4 : tensor<?x?x?xf32>
  %v3 = clus.soft_assign %a1 axis = tokens : tensor<?x?x?xf16>
  %v4 = clus.pool %v3, %a2 : tensor<?x?x?xf16>, tensor<?x?x?xf16>
  return %v1, %v2, %v4 : tensor<?x1x?xi32>, tensor<?x1x3xi32>, tensor<?x?x?xf16>
}

func.func @f1(%a0: tensor<?x?x?xf32>, %a1: tensor<2x196xi32>, %a2: tensor<2x?xf32>) -> (tensor<2x15x?xf32>) {
  %v1 = clus.aggregate %a0, %a1 weights(%a2 : tensor<2x?xf32>) clusters = 15 reduction = weighted_mean : tensor<?x?x?xf32>, tensor<2x196xi32>
  return %v1 : tensor<2x15x?xf32>
}

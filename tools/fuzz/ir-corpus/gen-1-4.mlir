func.func @f0(%a0: tensor<1x3x15xf16>, %a1: tensor<1x3xf16>, %a2: tensor<1x2x15xf16>, %a3: tensor<1x33x3xbf16>) -> (tensor<1x6x15xf16>, tensor<1x3x15xf16>, tensor<1x1x33xi32>, tensor<1x1x7xi32>) {
  %v1 = arith.constant dense<5> : tensor<1x3xi32>
  %v2 = clus.aggregate %a0, %v1 weights(%a1 : tensor<1x3xf16>) clusters = 6 reduction = weighted_mean : tensor<1x3x15xf16>, tensor<1x3xi32>
  %v3 = clus.broadcast %a2, %v1 : tensor<1x2x15xf16>, tensor<1x3xi32>
  %v4, %v5 = clus.dpc_knn %a3 clusters = [7] : tensor<1x33x3xbf16>
  return %v2, %v3, %v4, %v5 : tensor<1x6x15xf16>, tensor<1x3x15xf16>, tensor<1x1x33xi32>, tensor<1x1x7xi32>
}

func.func @f1(%a0: tensor<?x?x?xbf16>, %a1: tensor<?x?xi32>, %a2: tensor<?x?x?xbf16>) -> (tensor<?x8x?xbf16>, tensor<?x?x?xbf16>) {
  %v1 = clus.aggregate %a0, %a1 clusters = 8 reduction = mean : tensor<?x?x?xbf16>, tensor<?x?xi32>
  %v2 = clus.broadcast %a2, %a1 : tensor<?x?x?xbf16>, tensor<?x?xi32>
  return %v1, %v2 : tensor<?x8x?xbf16>, tensor<?x?x?xbf16>
}

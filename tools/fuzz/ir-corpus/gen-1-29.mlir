func.func @f0(%a0: tensor<?x?x?xf16>, %a1: tensor<?x?xi32>, %a2: tensor<?x?xf16>, %a3: tensor<?x?x?xf16>, %a4: tensor<?x?x?xf32>) -> (tensor<?x8x?xf16>, tensor<?x?x?xf16>, tensor<?x1x?xi32>, tensor<?x1x1xi32>) {
  %v1 = clus.aggregate %a0, %a1 weights(%a2 : tensor<?x?xf16>) clusters = 8 reduction = weighted_mean : tensor<?x?x?xf16>, tensor<?x?xi32>
  %v2 = clus.broadcast %a3, %a1 : tensor<?x?x?xf16>, tensor<?x?xi32>
  %v3, %v4 = clus.dpc_knn %a4 clusters = [1] : tensor<?x?x?xf32>
  return %v1, %v2, %v3, %v4 : tensor<?x8x?xf16>, tensor<?x?x?xf16>, tensor<?x1x?xi32>, tensor<?x1x1xi32>
}

func.func @f1(%a0: tensor<?x1x8x4xf16>, %a1: tensor<1x?x?x?xf16>, %a2: tensor<1x1x26x48xf16>) -> (tensor<1x1x8x48xf16>) {
  %v1 = clus.attention %a0, [%a1, %a2] : tensor<?x1x8x4xf16>, [tensor<1x?x?x?xf16>, tensor<1x1x26x48xf16>]
  return %v1 : tensor<1x1x8x48xf16>
}

func.func @f0(%a0: tensor<3x3x16xbf16>, %a1: tensor<?x?xbf16>) -> (tensor<3x1x16xbf16>, tensor<3x3x16xbf16>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 1 iterations = 2 : tensor<3x3x16xbf16>
  %v3 = clus.aggregate %a0, %v1 weights(%a1 : tensor<?x?xbf16>) clusters = 1 reduction = weighted_mean : tensor<3x3x16xbf16>, tensor<3x3xi32>
  %v4 = clus.broadcast %v3, %v1 : tensor<3x1x16xbf16>, tensor<3x3xi32>
  return %v3, %v4 : tensor<3x1x16xbf16>, tensor<3x3x16xbf16>
}

func.func @f1(%a0: tensor<?x100x48xf16>) -> (tensor<?x15x48xf16>, tensor<?x100x48xf16>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 15 iterations = 2 metric = l2 : tensor<?x100x48xf16>
  %v3 = clus.aggregate %a0, %v1 clusters = 15 reduction = mean eps = 1.0e-05 : tensor<?x100x48xf16>, tensor<?x100xi32>
  %v4 = clus.broadcast %v3, %v1 : tensor<?x15x48xf16>, tensor<?x100xi32>
  return %v3, %v4 : tensor<?x15x48xf16>, tensor<?x100x48xf16>
}

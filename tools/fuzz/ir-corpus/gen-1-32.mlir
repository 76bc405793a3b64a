func.func @f0(%a0: tensor<2x3x15xf16>, %a1: tensor<?x3xi32>, %a2: tensor<2x1x15xf16>, %a3: tensor<?x1x?xbf16>) -> (tensor<?x15x15xf16>, tensor<2x3x15xf16>, tensor<?x3x1xi32>, tensor<?x3x1xi32>) {
  %v1 = tensor.cast %a0 : tensor<2x3x15xf16> to tensor<?x3x15xf16>
  %v2 = clus.aggregate %v1, %a1 clusters = 15 reduction = mean : tensor<?x3x15xf16>, tensor<?x3xi32>
  %v3 = clus.broadcast %a2, %a1 : tensor<2x1x15xf16>, tensor<?x3xi32>
  %v4, %v5 = clus.dpc_knn %a3 clusters = [1, 1, 1] : tensor<?x1x?xbf16>
  return %v2, %v3, %v4, %v5 : tensor<?x15x15xf16>, tensor<2x3x15xf16>, tensor<?x3x1xi32>, tensor<?x3x1xi32>
}

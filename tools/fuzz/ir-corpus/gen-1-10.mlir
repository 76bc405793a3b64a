func.func @f0(%a0: tensor<2x7x65xf16>, %a1: tensor<2x10x31xbf16>, %a2: tensor<2x31x3xbf16>) -> (tensor<2x5x65xf16>, tensor<2x7x65xf16>, tensor<2x?x3xbf16>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 5 iterations = 1 metric = l2 : tensor<2x7x65xf16>
  %v3 = clus.aggregate %a0, %v1 clusters = 5 eps = 1.0 : tensor<2x7x65xf16>, tensor<2x7xi32>
  %v4 = clus.broadcast %v3, %v1 : tensor<2x5x65xf16>, tensor<2x7xi32>
  %v5 = tensor.cast %a1 : tensor<2x10x31xbf16> to tensor<?x?x?xbf16>
  %v6 = clus.soft_assign %v5 axis = clusters : tensor<?x?x?xbf16>
  %v7 = clus.pool %v6, %a2 : tensor<?x?x?xbf16>, tensor<2x31x3xbf16>
  return %v3, %v4, %v7 : tensor<2x5x65xf16>, tensor<2x7x65xf16>, tensor<2x?x3xbf16>
}

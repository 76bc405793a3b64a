func.func @f0(%a0: tensor<3x17x4xbf16>) -> (tensor<3x10x4xbf16>, tensor<3x17x4xbf16>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 10 iterations = 2 : tensor<3x17x4xbf16>
  %v3 = clus.aggregate %a0, %v1 clusters = 10 eps = 0.0 : tensor<3x17x4xbf16>, tensor<3x17xi32>
  %v4 = clus.broadcast %v3, %v1 : tensor<3x10x4xbf16>, tensor<3x17xi32>
  return %v3, %v4 : tensor<3x10x4xbf16>, tensor<3x17x4xbf16>
}

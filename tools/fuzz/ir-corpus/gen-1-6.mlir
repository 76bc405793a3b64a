func.func @f0(%a0: tensor<1x7x16xbf16>, %a1: tensor<1x3x7x48xf32>, %a2: tensor<1x3x10x48xf32>, %a3: tensor<1x3x10x64xf32>) -> (tensor<1x7xi32>, tensor<1x1x16xbf16>, tensor<1x3x7x64xf32>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 1 iterations = 3 : tensor<1x7x16xbf16>
  %v3 = clus.attention %a1, [%a2, %a3] : tensor<1x3x7x48xf32>, [tensor<1x3x10x48xf32>, tensor<1x3x10x64xf32>]
  return %v1, %v2, %v3 : tensor<1x7xi32>, tensor<1x1x16xbf16>, tensor<1x3x7x64xf32>
}

func.func @f0(%a0: tensor<3x2x48xf16>, %a1: tensor<3x2xi32>, %a2: tensor<3x2x48xf16>, %a3: tensor<2x10x16xf16>, %a4: tensor<2x16x64xf16>) -> (tensor<3x13x48xf16>, tensor<3x2x48xf16>, tensor<2x10x64xf16>) {
  %v1 = clus.aggregate %a0, %a1 clusters = 13 : tensor<3x2x48xf16>, tensor<3x2xi32>
  %v2 = clus.broadcast %a2, %a1 : tensor<3x2x48xf16>, tensor<3x2xi32>
  %v3 = clus.soft_assign %a3 : tensor<2x10x16xf16>
  %v4 = clus.pool %v3, %a4 : tensor<2x10x16xf16>, tensor<2x16x64xf16>
  return %v1, %v2, %v4 : tensor<3x13x48xf16>, tensor<3x2x48xf16>, tensor<2x10x64xf16>
}

func.func @f1(%a0: tensor<3x8x64xbf16>) -> (tensor<3x3x8xi32>, tensor<3x3x6xi32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [6, 6, 6] k = 8 : tensor<3x8x64xbf16>
  return %v1, %v2 : tensor<3x3x8xi32>, tensor<3x3x6xi32>
}

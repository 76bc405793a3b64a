func.func @f0(%a0: tensor<3x?x8xbf16>, %a1: tensor<?x1x8xbf16>, %a2: tensor<3x2x7x16xf32>, %a3: tensor<?x2x?x16xf32>, %a4: tensor<?x?x?x33xf32>) -> (tensor<3x4x8xbf16>, tensor<3x3x8xbf16>, tensor<3x2x7x33xf32>) {
  %v1 = arith.constant dense<4> : tensor<3x3xi32>
  %v2 = clus.aggregate %a0, %v1 clusters = 4 eps = 1.0 : tensor<3x?x8xbf16>, tensor<3x3xi32>
  %v3 = clus.broadcast %a1, %v1 : tensor<?x1x8xbf16>, tensor<3x3xi32>
  %v4 = clus.attention %a2, [%a3, %a4] : tensor<3x2x7x16xf32>, [tensor<?x2x?x16xf32>, tensor<?x?x?x33xf32>]
  return %v2, %v3, %v4 : tensor<3x4x8xbf16>, tensor<3x3x8xbf16>, tensor<3x2x7x33xf32>
}

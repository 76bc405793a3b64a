func.func @f0(%a0: tensor<?x?x?xf16>, %a1: tensor<?x?xf16>, %a2: tensor<?x?x?xf16>) -> (tensor<2x13x?xf16>, tensor<2x100x?xf16>) {
  %v1 = arith.constant dense<13> : tensor<2x100xi32>
  %v2 = clus.aggregate %a0, %v1 weights(%a1 : tensor<?x?xf16>) clusters = 13 reduction = weighted_mean eps = 1.0 : tensor<?x?x?xf16>, tensor<2x100xi32>
  %v3 = clus.broadcast %a2, %v1 : tensor<?x?x?xf16>, tensor<2x100xi32>
  return %v2, %v3 : tensor<2x13x?xf16>, tensor<2x100x?xf16>
}

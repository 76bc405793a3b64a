func.func @f0(%a0: tensor<?x?x?xbf16>, %a1: tensor<?x?xbf16>) -> (tensor<1x5x?xbf16>) {
  %v1 = arith.constant dense<4> : tensor<1x16xi32>
  %v2 = clus.aggregate %a0, %v1 weights(%a1 : tensor<?x?xbf16>) clusters = 5 reduction = weighted_mean eps = 1.0 : tensor<?x?x?xbf16>, tensor<1x16xi32>
  return %v2 : tensor<1x5x?xbf16>
}

func.func @f0(%a0: tensor<?x?x?xbf16>, %a1: tensor<?x?xbf16>) -> (tensor<1x5x?xbf16>) {
  %v1 = arith.constant dense<4> : tensor<1x16xi32>
  %v2_init_c2 = arith.constant 2 : index
  %v2_init_d2 = tensor.dim %a0, %v2_init_c2 : tensor<?x?x?xbf16>
  %v2_init = tensor.empty(%v2_init_d2) : tensor<1x5x?xbf16>
  %v2 = clus.aggregate %a0, %v1 weights(%a1 : tensor<?x?xbf16>) clusters = 5 reduction = weighted_mean eps = 1.0 outs(%v2_init)
      : tensor<?x?x?xbf16>, tensor<1x16xi32> -> tensor<1x5x?xbf16>
  return %v2 : tensor<1x5x?xbf16>
}

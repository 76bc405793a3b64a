func.func @f0(%a0: tensor<?x?x?xf16>, %a1: tensor<?x?xf16>, %a2: tensor<?x?x?xf16>) -> (tensor<2x13x?xf16>, tensor<2x100x?xf16>) {
  %v1 = arith.constant dense<13> : tensor<2x100xi32>
  %v2_init_c2 = arith.constant 2 : index
  %v2_init_d2 = tensor.dim %a0, %v2_init_c2 : tensor<?x?x?xf16>
  %v2_init = tensor.empty(%v2_init_d2) : tensor<2x13x?xf16>
  %v2 = clus.aggregate %a0, %v1 weights(%a1 : tensor<?x?xf16>) clusters = 13 reduction = weighted_mean eps = 1.0 outs(%v2_init)
      : tensor<?x?x?xf16>, tensor<2x100xi32> -> tensor<2x13x?xf16>
  %v3_init_c2 = arith.constant 2 : index
  %v3_init_d2 = tensor.dim %a2, %v3_init_c2 : tensor<?x?x?xf16>
  %v3_init = tensor.empty(%v3_init_d2) : tensor<2x100x?xf16>
  %v3 = clus.broadcast %a2, %v1 outs(%v3_init)
      : tensor<?x?x?xf16>, tensor<2x100xi32> -> tensor<2x100x?xf16>
  return %v2, %v3 : tensor<2x13x?xf16>, tensor<2x100x?xf16>
}

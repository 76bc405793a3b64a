func.func @f0(%a0: tensor<?x?x?xf16>, %a1: tensor<?x?xi32>, %a2: tensor<?x?x?xf16>) -> (tensor<?x3x?xf16>, tensor<?x?x?xf16>) {
  %v1_init_c0 = arith.constant 0 : index
  %v1_init_d0 = tensor.dim %a0, %v1_init_c0 : tensor<?x?x?xf16>
  %v1_init_c2 = arith.constant 2 : index
  %v1_init_d2 = tensor.dim %a0, %v1_init_c2 : tensor<?x?x?xf16>
  %v1_init = tensor.empty(%v1_init_d0, %v1_init_d2) : tensor<?x3x?xf16>
  %v1 = clus.aggregate %a0, %a1 clusters = 3 outs(%v1_init)
      : tensor<?x?x?xf16>, tensor<?x?xi32> -> tensor<?x3x?xf16>
  %v2_init_c0 = arith.constant 0 : index
  %v2_init_d0 = tensor.dim %a2, %v2_init_c0 : tensor<?x?x?xf16>
  %v2_init_c1 = arith.constant 1 : index
  %v2_init_d1 = tensor.dim %a1, %v2_init_c1 : tensor<?x?xi32>
  %v2_init_c2 = arith.constant 2 : index
  %v2_init_d2 = tensor.dim %a2, %v2_init_c2 : tensor<?x?x?xf16>
  %v2_init = tensor.empty(%v2_init_d0, %v2_init_d1, %v2_init_d2) : tensor<?x?x?xf16>
  %v2 = clus.broadcast %a2, %a1 outs(%v2_init)
      : tensor<?x?x?xf16>, tensor<?x?xi32> -> tensor<?x?x?xf16>
  return %v1, %v2 : tensor<?x3x?xf16>, tensor<?x?x?xf16>
}

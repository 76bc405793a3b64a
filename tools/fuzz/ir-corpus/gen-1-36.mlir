func.func @f0(%a0: tensor<?x?x?xbf16>, %a1: tensor<?x?x65xbf16>) -> (tensor<?x?x65xbf16>) {
  %v1_init_c0 = arith.constant 0 : index
  %v1_init_d0 = tensor.dim %a0, %v1_init_c0 : tensor<?x?x?xbf16>
  %v1_init_c1 = arith.constant 1 : index
  %v1_init_d1 = tensor.dim %a0, %v1_init_c1 : tensor<?x?x?xbf16>
  %v1_init = tensor.empty(%v1_init_d0, %v1_init_d1) : tensor<?x?xi32>
  %v2_init_c0 = arith.constant 0 : index
  %v2_init_d0 = tensor.dim %a0, %v2_init_c0 : tensor<?x?x?xbf16>
  %v2_init = tensor.empty(%v2_init_d0) : tensor<?x1x65xbf16>
  %v1, %v2 = clus.kmeans %a0 init(%a1 : tensor<?x?x65xbf16>) clusters = 1 iterations = 2 outs(%v1_init, %v2_init)
      : tensor<?x?x?xbf16> -> tensor<?x?xi32>, tensor<?x1x65xbf16>
  %v3_init_c0 = arith.constant 0 : index
  %v3_init_d0 = tensor.dim %v2, %v3_init_c0 : tensor<?x1x65xbf16>
  %v3_init_c1 = arith.constant 1 : index
  %v3_init_d1 = tensor.dim %v1, %v3_init_c1 : tensor<?x?xi32>
  %v3_init = tensor.empty(%v3_init_d0, %v3_init_d1) : tensor<?x?x65xbf16>
  %v3 = clus.broadcast %v2, %v1 outs(%v3_init)
      : tensor<?x1x65xbf16>, tensor<?x?xi32> -> tensor<?x?x65xbf16>
  return %v3 : tensor<?x?x65xbf16>
}

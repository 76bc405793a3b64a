func.func @f0(%a0: tensor<?x?x?xf16>, %a1: tensor<?x5xi32>) -> (tensor<?x7x?xf16>) {
  %v1_init_c0 = arith.constant 0 : index
  %v1_init_d0 = tensor.dim %a0, %v1_init_c0 : tensor<?x?x?xf16>
  %v1_init_c2 = arith.constant 2 : index
  %v1_init_d2 = tensor.dim %a0, %v1_init_c2 : tensor<?x?x?xf16>
  %v1_init = tensor.empty(%v1_init_d0, %v1_init_d2) : tensor<?x7x?xf16>
  %v1 = clus.aggregate %a0, %a1 clusters = 7 reduction = sum outs(%v1_init)
      : tensor<?x?x?xf16>, tensor<?x5xi32> -> tensor<?x7x?xf16>
  return %v1 : tensor<?x7x?xf16>
}

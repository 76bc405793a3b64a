func.func @kmeans_cosine_init_f16_dynamic(%x: tensor<?x?x?xf16>, %mu: tensor<?x3x?xf16>) -> (tensor<?x?xi32>, tensor<?x3x?xf16>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf16>
  %a_init_c1 = arith.constant 1 : index
  %a_init_d1 = tensor.dim %x, %a_init_c1 : tensor<?x?x?xf16>
  %a_init = tensor.empty(%a_init_d0, %a_init_d1) : tensor<?x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf16>
  %c_init_c2 = arith.constant 2 : index
  %c_init_d2 = tensor.dim %x, %c_init_c2 : tensor<?x?x?xf16>
  %c_init = tensor.empty(%c_init_d0, %c_init_d2) : tensor<?x3x?xf16>
  %a, %c = clus.kmeans %x init(%mu : tensor<?x3x?xf16>) clusters = 3 iterations = 7 metric = cosine outs(%a_init, %c_init)
      : tensor<?x?x?xf16> -> tensor<?x?xi32>, tensor<?x3x?xf16>
  return %a, %c : tensor<?x?xi32>, tensor<?x3x?xf16>
}

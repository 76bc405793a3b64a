func.func @broadcast_f16_dynamic(%y: tensor<?x?x?xf16>, %a: tensor<?x?xi32>) -> tensor<?x?x?xf16> {
  %x_init_c0 = arith.constant 0 : index
  %x_init_d0 = tensor.dim %y, %x_init_c0 : tensor<?x?x?xf16>
  %x_init_c1 = arith.constant 1 : index
  %x_init_d1 = tensor.dim %a, %x_init_c1 : tensor<?x?xi32>
  %x_init_c2 = arith.constant 2 : index
  %x_init_d2 = tensor.dim %y, %x_init_c2 : tensor<?x?x?xf16>
  %x_init = tensor.empty(%x_init_d0, %x_init_d1, %x_init_d2) : tensor<?x?x?xf16>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<?x?x?xf16>, tensor<?x?xi32> -> tensor<?x?x?xf16>
  return %x : tensor<?x?x?xf16>
}

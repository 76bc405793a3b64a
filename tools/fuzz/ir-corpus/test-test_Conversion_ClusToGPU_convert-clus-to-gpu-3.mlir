func.func @soft_assign_pool(%l: tensor<?x49x196xf16>, %x: tensor<?x196x64xf16>) -> tensor<?x49x64xf16> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x49x196xf16>
  %z_init = tensor.empty(%z_init_d0) : tensor<?x49x196xf16>
  %z = clus.soft_assign %l outs(%z_init) : tensor<?x49x196xf16>
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %l, %y_init_c0 : tensor<?x49x196xf16>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x49x64xf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x49x196xf16>, tensor<?x196x64xf16> -> tensor<?x49x64xf16>
  return %y : tensor<?x49x64xf16>
}

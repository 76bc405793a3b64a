func.func @soft_assign_clusters_bf16_dynamic(%l: tensor<?x4x?xbf16>) -> tensor<?x4x?xbf16> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x4x?xbf16>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %l, %z_init_c2 : tensor<?x4x?xbf16>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x4x?xbf16>
  %z = clus.soft_assign %l axis = clusters outs(%z_init) : tensor<?x4x?xbf16>
  return %z : tensor<?x4x?xbf16>
}

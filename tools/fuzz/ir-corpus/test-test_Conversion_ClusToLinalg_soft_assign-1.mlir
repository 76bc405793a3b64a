func.func @soft_assign_clusters_bf16_dynamic(%l: tensor<?x4x?xbf16>) -> tensor<?x4x?xbf16> {
  %z = clus.soft_assign %l axis = clusters : tensor<?x4x?xbf16>
  return %z : tensor<?x4x?xbf16>
}

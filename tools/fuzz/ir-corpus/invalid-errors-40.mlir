func.func @dpc_knn_scalar_clusters(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x1x8xi32>
  %c_init = tensor.empty() : tensor<2x1x1xi32>
  %a, %c = clus.dpc_knn %x clusters = 4 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x1x8xi32>, tensor<2x1x1xi32>
  return
}

func.func @dpc_knn_zero_clusters(%x: tensor<2x8x16xf32>) {
  %a, %c = clus.dpc_knn %x clusters = [4, 0] : tensor<2x8x16xf32>
  return
}

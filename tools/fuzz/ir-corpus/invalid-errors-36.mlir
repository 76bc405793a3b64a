func.func @dpc_knn_zero_clusters(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x2x8xi32>
  %c_init = tensor.empty() : tensor<2x2x4xi32>
  %a, %c = clus.dpc_knn %x clusters = [4, 0] outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x2x8xi32>, tensor<2x2x4xi32>
  return
}

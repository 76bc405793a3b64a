func.func @kmeans_more_clusters_than_tokens(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x9x16xf32>
  %a, %c = clus.kmeans %x clusters = 9 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x9x16xf32>
  return
}

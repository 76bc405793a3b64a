func.func @kmeans_more_clusters_than_tokens(%x: tensor<2x8x16xf32>) {
  %a, %c = clus.kmeans %x clusters = 9 iterations = 2 : tensor<2x8x16xf32>
  return
}

func.func @kmeans_float_clusters(%x: tensor<2x8x16xf32>) {
  %a, %c = clus.kmeans %x clusters = 2.5 iterations = 2 : tensor<2x8x16xf32>
  return
}

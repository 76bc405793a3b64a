func.func @kmeans_zero_iterations(%x: tensor<2x8x16xf32>) {
  %a, %c = clus.kmeans %x clusters = 4 iterations = 0 : tensor<2x8x16xf32>
  return
}

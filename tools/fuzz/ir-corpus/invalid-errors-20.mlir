func.func @kmeans_init_batch(%x: tensor<2x8x16xf32>, %mu: tensor<3x4x16xf32>) {
  %a, %c = clus.kmeans %x init(%mu : tensor<3x4x16xf32>) clusters = 4 iterations = 2 : tensor<2x8x16xf32>
  return
}

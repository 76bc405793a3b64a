func.func @kmeans_scalar_init(%x: tensor<2x8x16xf32>, %i: f32) {
  %a, %c = clus.kmeans %x init(%i : f32) clusters = 4 iterations = 1 : tensor<2x8x16xf32>
  return
}

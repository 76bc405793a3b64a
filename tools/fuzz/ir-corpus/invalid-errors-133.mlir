func.func @kmeans_scalar_init(%x: tensor<2x8x16xf32>, %i: f32) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  %a, %c = clus.kmeans %x init(%i : f32) clusters = 4 iterations = 1 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

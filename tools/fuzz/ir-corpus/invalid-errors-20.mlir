func.func @kmeans_init_batch(%x: tensor<2x8x16xf32>, %mu: tensor<3x4x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  %a, %c = clus.kmeans %x init(%mu : tensor<3x4x16xf32>) clusters = 4 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

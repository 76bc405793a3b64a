func.func @aggregate_batch(%x: tensor<2x8x16xf32>, %a: tensor<3x8xi32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<3x8xi32> -> tensor<2x4x16xf32>
  return
}

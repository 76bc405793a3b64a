func.func @aggregate_sum_f32(%x: tensor<2x7x3xf32>, %a: tensor<2x7xi32>) -> tensor<2x4x3xf32> {
  %y_init = tensor.empty() : tensor<2x4x3xf32>
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<2x7x3xf32>, tensor<2x7xi32> -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

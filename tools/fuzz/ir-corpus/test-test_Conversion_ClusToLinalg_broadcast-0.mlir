func.func @broadcast_f32(%y: tensor<2x4x3xf32>, %a: tensor<2x7xi32>) -> tensor<2x7x3xf32> {
  %x_init = tensor.empty() : tensor<2x7x3xf32>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x4x3xf32>, tensor<2x7xi32> -> tensor<2x7x3xf32>
  return %x : tensor<2x7x3xf32>
}

func.func @pool_f32(%z: tensor<2x4x8xf32>, %x: tensor<2x8x3xf32>) -> tensor<2x4x3xf32> {
  %y_init = tensor.empty() : tensor<2x4x3xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf32>, tensor<2x8x3xf32> -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

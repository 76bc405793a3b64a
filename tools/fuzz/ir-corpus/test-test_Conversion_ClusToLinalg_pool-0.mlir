func.func @pool_f32(%z: tensor<2x4x8xf32>, %x: tensor<2x8x3xf32>) -> tensor<2x4x3xf32> {
  %y = clus.pool %z, %x : tensor<2x4x8xf32>, tensor<2x8x3xf32>
  return %y : tensor<2x4x3xf32>
}

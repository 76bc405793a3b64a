func.func @pool_batch(%z: tensor<2x4x8xf32>, %x: tensor<3x8x16xf32>) {
  %y = clus.pool %z, %x : tensor<2x4x8xf32>, tensor<3x8x16xf32>
  return
}

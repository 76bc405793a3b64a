func.func @pool_batch(%z: tensor<2x4x8xf32>, %x: tensor<3x8x16xf32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf32>, tensor<3x8x16xf32> -> tensor<2x4x16xf32>
  return
}

func.func @pool_unranked(%z: tensor<*xf32>, %x: tensor<2x8x16xf32>) {
  %y = clus.pool %z, %x : tensor<*xf32>, tensor<2x8x16xf32>
  return
}

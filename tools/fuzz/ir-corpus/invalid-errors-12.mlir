func.func @pool_unranked(%z: tensor<*xf32>, %x: tensor<2x8x16xf32>) {
  %y_init = tensor.empty() : tensor<2x1x16xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<*xf32>, tensor<2x8x16xf32> -> tensor<2x1x16xf32>
  return
}

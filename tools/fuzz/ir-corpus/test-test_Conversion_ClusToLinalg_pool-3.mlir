func.func @pool_dynamic_tokens(%z: tensor<2x4x?xf32>, %x: tensor<2x?x3xf32>) -> tensor<2x4x3xf32> {
  %y_init = tensor.empty() : tensor<2x4x3xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x?xf32>, tensor<2x?x3xf32> -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

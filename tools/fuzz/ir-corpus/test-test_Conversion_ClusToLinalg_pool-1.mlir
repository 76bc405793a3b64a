func.func @pool_f16(%z: tensor<2x4x8xf16>, %x: tensor<2x8x3xf16>) -> tensor<2x4x3xf16> {
  %y_init = tensor.empty() : tensor<2x4x3xf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf16>, tensor<2x8x3xf16> -> tensor<2x4x3xf16>
  return %y : tensor<2x4x3xf16>
}

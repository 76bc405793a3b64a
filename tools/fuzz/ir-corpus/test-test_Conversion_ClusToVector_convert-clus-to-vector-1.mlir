func.func @shared_soft_assign(%l: tensor<1x3x9xf16>, %x: tensor<1x9x5xf16>) -> (tensor<1x3x9xf16>, tensor<1x3x5xf16>) {
  %z_init = tensor.empty() : tensor<1x3x9xf16>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x3x9xf16>
  %y_init = tensor.empty() : tensor<1x3x5xf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<1x3x9xf16>, tensor<1x9x5xf16> -> tensor<1x3x5xf16>
  return %z, %y : tensor<1x3x9xf16>, tensor<1x3x5xf16>
}

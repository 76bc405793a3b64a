func.func @fused_pool(%l: tensor<2x7x50xf32>, %x: tensor<2x50x20xf32>) -> tensor<2x7x20xf32> {
  %z_init = tensor.empty() : tensor<2x7x50xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<2x7x50xf32>
  %y_init = tensor.empty() : tensor<2x7x20xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x7x50xf32>, tensor<2x50x20xf32> -> tensor<2x7x20xf32>
  return %y : tensor<2x7x20xf32>
}

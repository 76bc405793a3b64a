func.func @fused_pool(%l: tensor<2x7x50xf32>, %x: tensor<2x50x20xf32>) -> tensor<2x7x20xf32> {
  %z = clus.soft_assign %l : tensor<2x7x50xf32>
  %y = clus.pool %z, %x : tensor<2x7x50xf32>, tensor<2x50x20xf32>
  return %y : tensor<2x7x20xf32>
}

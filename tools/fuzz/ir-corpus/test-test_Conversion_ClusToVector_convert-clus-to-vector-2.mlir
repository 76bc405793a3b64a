func.func @attention_two_scales(%q: tensor<1x2x50x24xf32>, %k1: tensor<1x2x7x24xf32>, %v1: tensor<1x2x7x24xf32>, %k2: tensor<1x2x19x24xf32>, %v2: tensor<1x2x19x24xf32>) -> tensor<1x2x50x24xf32> {
  %o = clus.attention %q, [%k1, %v1], [%k2, %v2] : tensor<1x2x50x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>], [tensor<1x2x19x24xf32>, tensor<1x2x19x24xf32>]
  return %o : tensor<1x2x50x24xf32>
}

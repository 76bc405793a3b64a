func.func @attention(%q: tensor<1x2x50x24xf32>, %k: tensor<1x2x7x24xf32>) -> tensor<1x2x50x24xf32> {
  %o = clus.attention %q, [%k, %k] : tensor<1x2x50x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>]
  return %o : tensor<1x2x50x24xf32>
}

func.func @attention_two_pairs(%q: tensor<1x1x5x4xf32>, %k1: tensor<1x1x3x4xf32>, %v1: tensor<1x1x3x6xf32>, %k2: tensor<1x1x2x4xf32>, %v2: tensor<1x1x2x6xf32>) -> tensor<1x1x5x6xf32> {
  %o = clus.attention %q, [%k1, %v1], [%k2, %v2] scale = 2.500000e-01 : tensor<1x1x5x4xf32>, [tensor<1x1x3x4xf32>, tensor<1x1x3x6xf32>], [tensor<1x1x2x4xf32>, tensor<1x1x2x6xf32>]
  return %o : tensor<1x1x5x6xf32>
}

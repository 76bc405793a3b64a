func.func @attention_one_pair_default_scale(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x6xf32>) -> tensor<1x2x5x6xf32> {
  %o_init = tensor.empty() : tensor<1x2x5x6xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x5x4xf32>, [tensor<1x2x3x4xf32>, tensor<1x2x3x6xf32>]
      -> tensor<1x2x5x6xf32>
  return %o : tensor<1x2x5x6xf32>
}

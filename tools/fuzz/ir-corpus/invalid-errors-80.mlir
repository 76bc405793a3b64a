func.func @attention_heads(%q: tensor<1x?x8x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x3x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x?x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x3x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

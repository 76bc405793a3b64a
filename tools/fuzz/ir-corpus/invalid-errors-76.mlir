func.func @attention_q_rank(%q: tensor<2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<2x8x16x16xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init)
      : tensor<2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>]
      -> tensor<2x8x16x16xf32>
  return
}

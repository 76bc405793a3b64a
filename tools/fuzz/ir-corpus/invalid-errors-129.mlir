func.func @attention_vector_pair(%q: tensor<1x2x8x16xf32>, %s: vector<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x1xf32>
  %o = clus.attention %q, [%s, %s] outs(%o_init)
      : tensor<1x2x8x16xf32>, [vector<1x2x4x16xf32>, vector<1x2x4x16xf32>]
      -> tensor<1x2x8x1xf32>
  return
}

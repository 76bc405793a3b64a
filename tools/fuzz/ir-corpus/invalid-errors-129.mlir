func.func @attention_vector_pair(%q: tensor<1x2x8x16xf32>, %s: vector<1x2x4x16xf32>) {
  %o = clus.attention %q, [%s, %s] : tensor<1x2x8x16xf32>, [vector<1x2x4x16xf32>, vector<1x2x4x16xf32>]
  return
}

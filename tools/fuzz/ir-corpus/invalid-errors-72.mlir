func.func @attention_generic_query_only(%q: tensor<1x2x8x16xf32>) {
  %o = "clus.attention"(%q) : (tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

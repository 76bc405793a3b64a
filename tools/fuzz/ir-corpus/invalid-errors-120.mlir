func.func @cluster_attention_generic_summaries_kind(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o = "clus.cluster_attention"(%q, %q, %q, %m, %a, %a) <{summaries = 1 : i64}> : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x16xf32>
  return
}

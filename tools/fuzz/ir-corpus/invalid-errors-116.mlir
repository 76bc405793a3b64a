func.func @cluster_attention_ak_element_type(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %aq: tensor<1x2x8x4xf32>, %ak: tensor<1x2x8x4xbf16>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xbf16>
      -> tensor<1x2x8x16xf32>
  return
}

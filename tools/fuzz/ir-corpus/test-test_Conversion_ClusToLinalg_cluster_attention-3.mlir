func.func @cluster_attention_bf16_refined(%q: tensor<?x?x?x?xbf16>, %k: tensor<1x1x4x2xbf16>, %v: tensor<1x1x4x3xbf16>, %mem: tensor<1x2x2xi32>, %aq: tensor<1x1x4x2xbf16>, %ak: tensor<1x1x4x2xbf16>) -> tensor<1x1x4x3xbf16> {
  %o_init = tensor.empty() : tensor<1x1x4x3xbf16>
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) outs(%o_init)
      : tensor<?x?x?x?xbf16>, tensor<1x1x4x2xbf16>, tensor<1x1x4x3xbf16>, tensor<1x2x2xi32>, tensor<1x1x4x2xbf16>, tensor<1x1x4x2xbf16>
      -> tensor<1x1x4x3xbf16>
  return %o : tensor<1x1x4x3xbf16>
}

func.func @cluster_attention_summaries(%q: tensor<1x1x4x2xf32>, %k: tensor<1x1x4x2xf32>, %v: tensor<1x1x4x3xf32>, %mem: tensor<1x2x2xi32>, %aq: tensor<1x1x4x2xf32>, %ak: tensor<1x1x4x2xf32>) -> tensor<1x1x4x3xf32> {
  %o_init = tensor.empty() : tensor<1x1x4x3xf32>
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>, tensor<1x1x4x3xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
      -> tensor<1x1x4x3xf32>
  return %o : tensor<1x1x4x3xf32>
}

func.func @cluster_attention_no_summaries(%q: tensor<2x1x5x4xf32>, %k: tensor<2x1x5x4xf32>, %v: tensor<2x1x5x4xf32>, %mem: tensor<2x3x2xi32>, %aq: tensor<2x1x5x3xf32>, %ak: tensor<2x1x5x3xf32>) -> tensor<2x1x5x4xf32> {
  %o_init = tensor.empty() : tensor<2x1x5x4xf32>
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) scale = 1.250000e-01 summaries = false outs(%o_init)
      : tensor<2x1x5x4xf32>, tensor<2x1x5x4xf32>, tensor<2x1x5x4xf32>, tensor<2x3x2xi32>, tensor<2x1x5x3xf32>, tensor<2x1x5x3xf32>
      -> tensor<2x1x5x4xf32>
  return %o : tensor<2x1x5x4xf32>
}

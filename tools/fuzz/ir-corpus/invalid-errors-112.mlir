func.func @cluster_attention_clusters_members(%q: tensor<1x2x8x16xf32>, %m: tensor<1x5x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x5x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

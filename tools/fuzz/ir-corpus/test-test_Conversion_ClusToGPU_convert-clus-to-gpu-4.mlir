func.func @cluster_attention(%q: tensor<1x2x9x8xf32>, %k: tensor<1x2x9x8xf32>, %v: tensor<1x2x9x8xf32>,
                             %m: tensor<1x3x2xi32>, %aq: tensor<1x2x9x3xf32>, %ak: tensor<1x2x9x3xf32>) -> tensor<1x2x9x8xf32> {
  %o_init = tensor.empty() : tensor<1x2x9x8xf32>
  %o = clus.cluster_attention %q, %k, %v members(%m) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x3x2xi32>, tensor<1x2x9x3xf32>, tensor<1x2x9x3xf32>
      -> tensor<1x2x9x8xf32>
  return %o : tensor<1x2x9x8xf32>
}

func.func @cluster_attention(%q: tensor<1x3x196x64xf32>, %k: tensor<1x3x196x64xf32>, %v: tensor<1x3x196x64xf32>, %members: tensor<1x14x28xi32>, %aq: tensor<1x3x196x14xf32>, %ak: tensor<1x3x196x14xf32>) -> tensor<1x3x196x64xf32> {
  %o = clus.cluster_attention %q, %k, %v members(%members) affinities(%aq, %ak)
      : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>, tensor<1x14x28xi32>, tensor<1x3x196x14xf32>, tensor<1x3x196x14xf32>
  return %o : tensor<1x3x196x64xf32>
}

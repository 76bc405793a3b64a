func.func @paca_pool(%logits: tensor<?x49x3136xf16>, %x: tensor<?x3136x64xf16>) -> tensor<?x49x64xf16> {
  %z = clus.soft_assign %logits : tensor<?x49x3136xf16>
  %y = clus.pool %z, %x : tensor<?x49x3136xf16>, tensor<?x3136x64xf16>
  return %y : tensor<?x49x64xf16>
}

func.func @paca_attention(%q: tensor<?x1x3136x64xbf16>, %k: tensor<?x1x49x64xbf16>, %v: tensor<?x1x49x64xbf16>) -> tensor<?x1x3136x64xbf16> {
  %o = clus.attention %q, [%k, %v] : tensor<?x1x3136x64xbf16>, [tensor<?x1x49x64xbf16>, tensor<?x1x49x64xbf16>]
  return %o : tensor<?x1x3136x64xbf16>
}

func.func @dpc(%x: tensor<2x196x32xf32>) -> (tensor<2x1x196xi32>, tensor<2x1x49xi32>) {
  %a, %c = clus.dpc_knn %x clusters = [49] : tensor<2x196x32xf32>
  return %a, %c : tensor<2x1x196xi32>, tensor<2x1x49xi32>
}

// PaCa's clustered attention at stage 1 (C = 64, 49 clusters, 1 head of 64)
// in f16 and bf16, and the CAST cluster_attention in f32.
func.func @paca_pool(%logits: tensor<?x49x3136xf16>, %x: tensor<?x3136x64xf16>) -> tensor<?x49x64xf16> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %logits, %z_init_c0 : tensor<?x49x3136xf16>
  %z_init = tensor.empty(%z_init_d0) : tensor<?x49x3136xf16>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<?x49x3136xf16>
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %logits, %y_init_c0 : tensor<?x49x3136xf16>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x49x64xf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x49x3136xf16>, tensor<?x3136x64xf16> -> tensor<?x49x64xf16>
  return %y : tensor<?x49x64xf16>
}

func.func @paca_attention(%q: tensor<?x1x3136x64xbf16>, %k: tensor<?x1x49x64xbf16>, %v: tensor<?x1x49x64xbf16>) -> tensor<?x1x3136x64xbf16> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x1x3136x64xbf16>
  %o_init = tensor.empty(%o_init_d0) : tensor<?x1x3136x64xbf16>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x1x3136x64xbf16>, [tensor<?x1x49x64xbf16>, tensor<?x1x49x64xbf16>]
      -> tensor<?x1x3136x64xbf16>
  return %o : tensor<?x1x3136x64xbf16>
}

func.func @dpc(%x: tensor<2x196x32xf32>) -> (tensor<2x1x196xi32>, tensor<2x1x49xi32>) {
  %a_init = tensor.empty() : tensor<2x1x196xi32>
  %c_init = tensor.empty() : tensor<2x1x49xi32>
  %a, %c = clus.dpc_knn %x clusters = [49] outs(%a_init, %c_init)
      : tensor<2x196x32xf32> -> tensor<2x1x196xi32>, tensor<2x1x49xi32>
  return %a, %c : tensor<2x1x196xi32>, tensor<2x1x49xi32>
}

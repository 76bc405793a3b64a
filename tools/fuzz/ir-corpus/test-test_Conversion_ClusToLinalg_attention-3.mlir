func.func @attention_bf16_dynamic_tokens(%q: tensor<2x1x?x16xbf16>, %k: tensor<2x1x3x16xbf16>, %v: tensor<2x1x3x8xbf16>) -> tensor<2x1x?x8xbf16> {
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<2x1x?x16xbf16>
  %o_init = tensor.empty(%o_init_d2) : tensor<2x1x?x8xbf16>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<2x1x?x16xbf16>, [tensor<2x1x3x16xbf16>, tensor<2x1x3x8xbf16>]
      -> tensor<2x1x?x8xbf16>
  return %o : tensor<2x1x?x8xbf16>
}

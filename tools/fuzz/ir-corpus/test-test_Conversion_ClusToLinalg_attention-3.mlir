func.func @attention_bf16_dynamic_tokens(%q: tensor<2x1x?x16xbf16>, %k: tensor<2x1x3x16xbf16>, %v: tensor<2x1x3x8xbf16>) -> tensor<2x1x?x8xbf16> {
  %o = clus.attention %q, [%k, %v] : tensor<2x1x?x16xbf16>, [tensor<2x1x3x16xbf16>, tensor<2x1x3x8xbf16>]
  return %o : tensor<2x1x?x8xbf16>
}

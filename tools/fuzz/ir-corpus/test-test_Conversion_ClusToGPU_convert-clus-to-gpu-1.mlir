func.func @attention_bf16(%q: tensor<1x1x?x64xbf16>, %k: tensor<1x1x?x64xbf16>,
                          %v: tensor<1x1x?x64xbf16>) -> tensor<1x1x?x64xbf16> {
  %o = clus.attention %q, [%k, %v] : tensor<1x1x?x64xbf16>, [tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>]
  return %o : tensor<1x1x?x64xbf16>
}

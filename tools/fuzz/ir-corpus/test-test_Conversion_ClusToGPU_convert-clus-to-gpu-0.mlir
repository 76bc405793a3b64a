func.func @attention_f16(%q: tensor<2x3x196x32xf16>, %k: tensor<2x3x49x32xf16>,
                         %v: tensor<2x3x49x32xf16>) -> tensor<2x3x196x32xf16> {
  %o_init = tensor.empty() : tensor<2x3x196x32xf16>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<2x3x196x32xf16>, [tensor<2x3x49x32xf16>, tensor<2x3x49x32xf16>]
      -> tensor<2x3x196x32xf16>
  return %o : tensor<2x3x196x32xf16>
}

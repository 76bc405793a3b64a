func.func @attention_f32(%q: tensor<1x2x7x24xf32>, %k: tensor<1x2x2x24xf32>,
                         %v: tensor<1x2x2x24xf32>) -> tensor<1x2x7x24xf32> {
  %o_init = tensor.empty() : tensor<1x2x7x24xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x7x24xf32>, [tensor<1x2x2x24xf32>, tensor<1x2x2x24xf32>]
      -> tensor<1x2x7x24xf32>
  return %o : tensor<1x2x7x24xf32>
}
func.func @next() {
  return
}

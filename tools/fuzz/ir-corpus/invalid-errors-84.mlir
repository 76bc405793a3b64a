func.func @attention_value_dim_across_scales(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>, %v1: tensor<1x2x4x32xf32>, %v2: tensor<1x2x4x48xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x32xf32>
  %o = clus.attention %q, [%k, %v1], [%k, %v2] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x32xf32>], [tensor<1x2x4x16xf32>, tensor<1x2x4x48xf32>]
      -> tensor<1x2x8x32xf32>
  return
}

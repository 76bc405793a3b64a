func.func @attention_generic_inf_scale(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %o = "clus.attention"(%q, %k, %k) <{scale = 0xFF800000 : f32}> : (tensor<1x2x8x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

func.func @soft_assign_tokens_f32(%l: tensor<2x4x7xf32>) -> tensor<2x4x7xf32> {
  %z_init = tensor.empty() : tensor<2x4x7xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<2x4x7xf32>
  return %z : tensor<2x4x7xf32>
}

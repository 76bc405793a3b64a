func.func @soft_assign_tokens_f16(%l: tensor<1x3x5xf16>) -> tensor<1x3x5xf16> {
  %z_init = tensor.empty() : tensor<1x3x5xf16>
  %z = clus.soft_assign %l axis = tokens outs(%z_init) : tensor<1x3x5xf16>
  return %z : tensor<1x3x5xf16>
}

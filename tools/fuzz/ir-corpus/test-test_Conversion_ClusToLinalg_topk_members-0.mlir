func.func @topk_f16(%g: tensor<1x6x3xf16>) -> tensor<1x3x2xi32> {
  %m_init = tensor.empty() : tensor<1x3x2xi32>
  %m = clus.topk_members %g capacity = 2 outs(%m_init)
      : tensor<1x6x3xf16> -> tensor<1x3x2xi32>
  return %m : tensor<1x3x2xi32>
}

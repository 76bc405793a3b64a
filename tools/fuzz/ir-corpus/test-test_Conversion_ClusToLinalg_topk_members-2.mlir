func.func @topk_exclusive_bf16(%g: tensor<2x5x4xbf16>) -> tensor<2x4x1xi32> {
  %m_init = tensor.empty() : tensor<2x4x1xi32>
  %m = clus.topk_members %g capacity = 1 exclusive outs(%m_init)
      : tensor<2x5x4xbf16> -> tensor<2x4x1xi32>
  return %m : tensor<2x4x1xi32>
}

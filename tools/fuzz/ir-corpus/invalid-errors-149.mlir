func.func @topk_members_missing_capacity(%g: tensor<2x8x4xf32>) {
  %m_init = tensor.empty() : tensor<2x4x1xi32>
  %m = clus.topk_members %g exclusive outs(%m_init)
      : tensor<2x8x4xf32> -> tensor<2x4x1xi32>
  return
}

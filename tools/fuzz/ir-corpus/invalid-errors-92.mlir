func.func @topk_members_zero_capacity(%g: tensor<2x8x4xf32>) {
  %m_init = tensor.empty() : tensor<2x4x0xi32>
  %m = clus.topk_members %g capacity = 0 outs(%m_init)
      : tensor<2x8x4xf32> -> tensor<2x4x0xi32>
  return
}

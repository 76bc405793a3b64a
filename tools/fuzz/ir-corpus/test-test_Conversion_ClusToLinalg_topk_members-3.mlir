func.func @topk_capacity_exceeds_tokens(%g: tensor<1x3x2xf32>) -> tensor<1x2x8xi32> {
  %m_init = tensor.empty() : tensor<1x2x8xi32>
  %m = clus.topk_members %g capacity = 8 outs(%m_init)
      : tensor<1x3x2xf32> -> tensor<1x2x8xi32>
  return %m : tensor<1x2x8xi32>
}

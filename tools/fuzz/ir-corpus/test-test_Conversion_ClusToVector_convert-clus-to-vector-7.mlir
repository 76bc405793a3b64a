func.func @topk_members(%g: tensor<1x196x14xf32>) -> (tensor<1x14x28xi32>, tensor<1x14x28xi32>) {
  %m_init = tensor.empty() : tensor<1x14x28xi32>
  %m = clus.topk_members %g capacity = 28 outs(%m_init)
      : tensor<1x196x14xf32> -> tensor<1x14x28xi32>
  %e_init = tensor.empty() : tensor<1x14x28xi32>
  %e = clus.topk_members %g capacity = 28 exclusive outs(%e_init)
      : tensor<1x196x14xf32> -> tensor<1x14x28xi32>
  return %m, %e : tensor<1x14x28xi32>, tensor<1x14x28xi32>
}

func.func @topk_members_zero_capacity(%g: tensor<2x8x4xf32>) {
  %m = clus.topk_members %g capacity = 0 : tensor<2x8x4xf32>
  return
}

func.func @topk_members_missing_capacity(%g: tensor<2x8x4xf32>) {
  %m = clus.topk_members %g exclusive : tensor<2x8x4xf32>
  return
}

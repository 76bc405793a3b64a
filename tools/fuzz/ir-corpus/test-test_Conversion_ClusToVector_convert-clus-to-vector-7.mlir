func.func @topk_members(%g: tensor<1x196x14xf32>) -> (tensor<1x14x28xi32>, tensor<1x14x28xi32>) {
  %m = clus.topk_members %g capacity = 28 : tensor<1x196x14xf32>
  %e = clus.topk_members %g capacity = 28 exclusive : tensor<1x196x14xf32>
  return %m, %e : tensor<1x14x28xi32>, tensor<1x14x28xi32>
}

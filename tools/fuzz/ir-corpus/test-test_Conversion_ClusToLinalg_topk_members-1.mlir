func.func @topk_exclusive_dynamic(%g: tensor<?x?x3xf32>) -> tensor<?x3x4xi32> {
  %m = clus.topk_members %g capacity = 4 exclusive : tensor<?x?x3xf32>
  return %m : tensor<?x3x4xi32>
}

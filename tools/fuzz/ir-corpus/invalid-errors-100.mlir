func.func @topk_members_memref(%g: memref<2x8x4xf32>) {
  %m = clus.topk_members %g capacity = 2 : memref<2x8x4xf32>
  return
}

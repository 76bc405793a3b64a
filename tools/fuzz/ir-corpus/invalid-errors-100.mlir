func.func @topk_members_memref(%g: memref<2x8x4xf32>) {
  %m_init = tensor.empty() : tensor<1x1x2xi32>
  %m = clus.topk_members %g capacity = 2 outs(%m_init)
      : memref<2x8x4xf32> -> tensor<1x1x2xi32>
  return
}

func.func @topk_exclusive_dynamic(%g: tensor<?x?x3xf32>) -> tensor<?x3x4xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x3xf32>
  %m_init = tensor.empty(%m_init_d0) : tensor<?x3x4xi32>
  %m = clus.topk_members %g capacity = 4 exclusive outs(%m_init)
      : tensor<?x?x3xf32> -> tensor<?x3x4xi32>
  return %m : tensor<?x3x4xi32>
}

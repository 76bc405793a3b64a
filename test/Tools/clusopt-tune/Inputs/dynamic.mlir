// A dynamic-shape entry point: soft_assign fused into pool.
func.func @assign_pool(%l: tensor<?x4x?xf32>, %x: tensor<?x?x8xf32>) -> tensor<?x4x8xf32> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x4x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %l, %z_init_c2 : tensor<?x4x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x4x?xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<?x4x?xf32>
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %l, %y_init_c0 : tensor<?x4x?xf32>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x4x8xf32>
  %y = clus.pool %z, %x outs(%y_init) : tensor<?x4x?xf32>, tensor<?x?x8xf32> -> tensor<?x4x8xf32>
  return %y : tensor<?x4x8xf32>
}

// A dynamic-shape entry point: soft_assign fused into pool.
func.func @assign_pool(%l: tensor<?x4x?xf32>, %x: tensor<?x?x8xf32>) -> tensor<?x4x8xf32> {
  %z = clus.soft_assign %l : tensor<?x4x?xf32>
  %y = clus.pool %z, %x : tensor<?x4x?xf32>, tensor<?x?x8xf32>
  return %y : tensor<?x4x8xf32>
}

func.func @f0(%a0: tensor<?x?x?xf32>, %a1: tensor<?x?x?xf32>) -> (tensor<?x?x?xf32>) {
  %v1 = clus.soft_assign %a0 : tensor<?x?x?xf32>
  %v2 = clus.pool %a0, %a1 : tensor<?x?x?xf32>, tensor<?x?x?xf32>
  return %v2 : tensor<?x?x?xf32>
}

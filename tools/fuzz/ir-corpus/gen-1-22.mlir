func.func @f0(%a0: tensor<?x3x33xf32>, %a1: tensor<?x3xi32>, %a2: tensor<1x3x33xf32>) -> (tensor<?x9x33xf32>, tensor<1x3x33xf32>) {
  %v1 = clus.aggregate %a0, %a1 clusters = 9 : tensor<?x3x33xf32>, tensor<?x3xi32>
  %v2 = clus.broadcast %a2, %a1 : tensor<1x3x33xf32>, tensor<?x3xi32>
  return %v1, %v2 : tensor<?x9x33xf32>, tensor<1x3x33xf32>
}

func.func @f1(%a0: tensor<?x?x?xf32>, %a1: tensor<?x?x?xf32>) -> (tensor<?x?x?xf32>) {
  %v1 = clus.soft_assign %a0 axis = tokens : tensor<?x?x?xf32>
  %v2 = clus.pool %v1, %a1 : tensor<?x?x?xf32>, tensor<?x?x?xf32>
  return %v2 : tensor<?x?x?xf32>
}

func.func @f0(%a0: tensor<1x?x31x32xf32>, %a1: tensor<1x?x?x?xf32>, %a2: tensor<1x?x?x?xf32>) -> (tensor<1x?x31x?xf32>) {
  %v1 = clus.attention %a0, [%a1, %a2] scale = 1.0 : tensor<1x?x31x32xf32>, [tensor<1x?x?x?xf32>, tensor<1x?x?x?xf32>]
  return %v1 : tensor<1x?x31x?xf32>
}

func.func @f1(%a0: tensor<3x5x3xf32>) -> (tensor<3x2x3xf32>, tensor<3x5x3xf32>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 2 iterations = 3 metric = l2 : tensor<3x5x3xf32>
  %v3 = clus.aggregate %a0, %v1 clusters = 2 reduction = mean eps = 1.0 : tensor<3x5x3xf32>, tensor<3x5xi32>
  %v4 = clus.broadcast %v3, %v1 : tensor<3x2x3xf32>, tensor<3x5xi32>
  return %v3, %v4 : tensor<3x2x3xf32>, tensor<3x5x3xf32>
}

func.func @f2(%a0: tensor<?x1x1xf32>, %a1: tensor<2x1x33xf32>) -> (tensor<2x1x33xf32>) {
  %v1 = clus.soft_assign %a0 axis = tokens : tensor<?x1x1xf32>
  %v2 = clus.pool %v1, %a1 : tensor<?x1x1xf32>, tensor<2x1x33xf32>
  return %v2 : tensor<2x1x33xf32>
}

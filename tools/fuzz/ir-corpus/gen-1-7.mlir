func.func @f0(%a0: tensor<3x?x3xf32>, %a1: tensor<?x?xi32>, %a2: tensor<3x?x?xf32>) -> (tensor<3x6x3xf32>, tensor<3x?x?xf32>) {
  %v1 = clus.aggregate %a0, %a1 clusters = 6 reduction = mean eps = 1.0 : tensor<3x?x3xf32>, tensor<?x?xi32>
  %v2 = clus.broadcast %a2, %a1 : tensor<3x?x?xf32>, tensor<?x?xi32>
  return %v1, %v2 : tensor<3x6x3xf32>, tensor<3x?x?xf32>
}

func.func @f0(%a0: tensor<3x?x3xf32>, %a1: tensor<?x?xi32>, %a2: tensor<3x?x?xf32>) -> (tensor<3x6x3xf32>, tensor<3x?x?xf32>) {
  %v1_init = tensor.empty() : tensor<3x6x3xf32>
  %v1 = clus.aggregate %a0, %a1 clusters = 6 reduction = mean eps = 1.0 outs(%v1_init)
      : tensor<3x?x3xf32>, tensor<?x?xi32> -> tensor<3x6x3xf32>
  %v2_init_c1 = arith.constant 1 : index
  %v2_init_d1 = tensor.dim %a1, %v2_init_c1 : tensor<?x?xi32>
  %v2_init_c2 = arith.constant 2 : index
  %v2_init_d2 = tensor.dim %a2, %v2_init_c2 : tensor<3x?x?xf32>
  %v2_init = tensor.empty(%v2_init_d1, %v2_init_d2) : tensor<3x?x?xf32>
  %v2 = clus.broadcast %a2, %a1 outs(%v2_init)
      : tensor<3x?x?xf32>, tensor<?x?xi32> -> tensor<3x?x?xf32>
  return %v1, %v2 : tensor<3x6x3xf32>, tensor<3x?x?xf32>
}

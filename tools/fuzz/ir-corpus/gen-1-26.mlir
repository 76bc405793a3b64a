func.func @f0(%a0: tensor<3x16x64xf32>, %a1: tensor<2x17x48xf32>, %a2: tensor<2x17xi32>, %a3: tensor<2x15x48xf32>) -> (tensor<3x2x16xi32>, tensor<3x2x12xi32>, tensor<2x10x48xf32>, tensor<2x17x48xf32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [12, 6] k = 3 : tensor<3x16x64xf32>
  %v3 = clus.aggregate %a1, %a2 clusters = 10 reduction = sum : tensor<2x17x48xf32>, tensor<2x17xi32>
  %v4 = clus.broadcast %a3, %a2 : tensor<2x15x48xf32>, tensor<2x17xi32>
  return %v1, %v2, %v3, %v4 : tensor<3x2x16xi32>, tensor<3x2x12xi32>, tensor<2x10x48xf32>, tensor<2x17x48xf32>
}

func.func @f0(%a0: tensor<3x5x32xf16>) -> (tensor<3x2x5xi32>, tensor<3x2x5xi32>) {
  %v1_init = tensor.empty() : tensor<3x2x5xi32>
  %v2_init = tensor.empty() : tensor<3x2x5xi32>
  %v1, %v2 = clus.dpc_knn %a0 clusters = [4, 5] k = 4 outs(%v1_init, %v2_init)
      : tensor<3x5x32xf16> -> tensor<3x2x5xi32>, tensor<3x2x5xi32>
  return %v1, %v2 : tensor<3x2x5xi32>, tensor<3x2x5xi32>
}

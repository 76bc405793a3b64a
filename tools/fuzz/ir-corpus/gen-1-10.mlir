func.func @f0(%a0: tensor<1x8x65xf32>) -> (tensor<1x2x8xi32>, tensor<1x2x7xi32>) {
  %v1_init = tensor.empty() : tensor<1x2x8xi32>
  %v2_init = tensor.empty() : tensor<1x2x7xi32>
  %v1, %v2 = clus.dpc_knn %a0 clusters = [6, 7] k = 6 outs(%v1_init, %v2_init)
      : tensor<1x8x65xf32> -> tensor<1x2x8xi32>, tensor<1x2x7xi32>
  return %v1, %v2 : tensor<1x2x8xi32>, tensor<1x2x7xi32>
}

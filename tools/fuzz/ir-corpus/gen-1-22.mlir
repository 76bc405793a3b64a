func.func @f0(%a0: tensor<2x16x3xf32>) -> (tensor<2x2x3xf32>, tensor<2x16x3xf32>) {
  %v1_init = tensor.empty() : tensor<2x16xi32>
  %v2_init = tensor.empty() : tensor<2x2x3xf32>
  %v1, %v2 = clus.kmeans %a0 clusters = 2 iterations = 3 metric = cosine outs(%v1_init, %v2_init)
      : tensor<2x16x3xf32> -> tensor<2x16xi32>, tensor<2x2x3xf32>
  %v3_init = tensor.empty() : tensor<2x2x3xf32>
  %v3 = clus.aggregate %a0, %v1 clusters = 2 reduction = mean eps = 1.0 outs(%v3_init)
      : tensor<2x16x3xf32>, tensor<2x16xi32> -> tensor<2x2x3xf32>
  %v4_init = tensor.empty() : tensor<2x16x3xf32>
  %v4 = clus.broadcast %v3, %v1 outs(%v4_init)
      : tensor<2x2x3xf32>, tensor<2x16xi32> -> tensor<2x16x3xf32>
  return %v3, %v4 : tensor<2x2x3xf32>, tensor<2x16x3xf32>
}

func.func @f0(%a0: tensor<2x16x3xf32>) -> (tensor<2x2x3xf32>, tensor<2x16x3xf32>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 2 iterations = 3 metric = cosine : tensor<2x16x3xf32>
  %v3 = clus.aggregate %a0, %v1 clusters = 2 reduction = mean eps = 1.0 : tensor<2x16x3xf32>, tensor<2x16xi32>
  %v4 = clus.broadcast %v3, %v1 : tensor<2x2x3xf32>, tensor<2x16xi32>
  return %v3, %v4 : tensor<2x2x3xf32>, tensor<2x16x3xf32>
}

func.func @f0(%a0: tensor<?x5x4xf32>) -> (tensor<?x2x5xi32>, tensor<?x2x4xi32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [3, 4] k = 6 : tensor<?x5x4xf32>
  return %v1, %v2 : tensor<?x2x5xi32>, tensor<?x2x4xi32>
}

func.func @f1(%a0: tensor<1x31x?xf32>) -> (tensor<1x3x31xi32>, tensor<1x3x6xi32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [5, 5, 6] k = 5 : tensor<1x31x?xf32>
  return %v1, %v2 : tensor<1x3x31xi32>, tensor<1x3x6xi32>
}

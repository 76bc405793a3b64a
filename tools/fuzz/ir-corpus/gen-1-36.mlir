func.func @f0(%a0: tensor<3x17x8xf32>, %a1: tensor<1x100x4xf32>, %a2: tensor<1x100xi32>) -> (tensor<3x3x17xi32>, tensor<3x3x15xi32>, tensor<1x8x4xf32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [2, 7, 15] k = 5 : tensor<3x17x8xf32>
  %v3 = clus.aggregate %a1, %a2 clusters = 8 reduction = mean : tensor<1x100x4xf32>, tensor<1x100xi32>
  return %v1, %v2, %v3 : tensor<3x3x17xi32>, tensor<3x3x15xi32>, tensor<1x8x4xf32>
}

func.func @f1(%a0: tensor<?x?x?x?xf32>, %a1: tensor<?x?x?x?xf32>, %a2: tensor<?x?x?x?xf32>) -> (tensor<?x?x?x?xf32>) {
  %v1 = clus.attention %a0, [%a1, %a2] : tensor<?x?x?x?xf32>, [tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>]
  return %v1 : tensor<?x?x?x?xf32>
}

func.func @f2(%a0: tensor<?x7x4xf32>, %a1: tensor<3x3x7x4xf32>, %a2: tensor<3x3x7x4xf32>, %a3: tensor<3x3x7x?xf32>, %a4: tensor<3x?x7x?xf32>, %a5: tensor<3x3x7x?xf32>, %a6: tensor<?x16x1xf32>, %a7: tensor<3x16xi32>) -> (tensor<3x3x7x?xf32>, tensor<?x8x1xf32>) {
  %v1 = clus.topk_members %a0 capacity = 4 exclusive : tensor<?x7x4xf32>
  %v2 = clus.cluster_attention %a1, %a2, %a3 members(%v1) affinities(%a4, %a5) : tensor<3x3x7x4xf32>, tensor<3x3x7x4xf32>, tensor<3x3x7x?xf32>, tensor<?x4x4xi32>, tensor<3x?x7x?xf32>, tensor<3x3x7x?xf32>
  %v3 = tensor.cast %a7 : tensor<3x16xi32> to tensor<?x?xi32>
  %v4 = clus.aggregate %a6, %v3 clusters = 8 reduction = sum : tensor<?x16x1xf32>, tensor<?x?xi32>
  return %v2, %v4 : tensor<3x3x7x?xf32>, tensor<?x8x1xf32>
}

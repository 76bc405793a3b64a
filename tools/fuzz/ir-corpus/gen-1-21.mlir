func.func @f0(%a0: tensor<3x31x?xf32>, %a1: tensor<?x1x31x?xf32>, %a2: tensor<3x1x31x?xf32>, %a3: tensor<?x1x31x?xf32>, %a4: tensor<3x1x?x5xf32>, %a5: tensor<?x1x31x5xf32>, %a6: tensor<?x49x?xf32>, %a7: tensor<2x4x?xf32>, %a8: tensor<2x?xf32>) -> (tensor<3x1x31x?xf32>, tensor<2x4x?xf32>, tensor<2x49x?xf32>) {
  %v1 = clus.topk_members %a0 capacity = 9 : tensor<3x31x?xf32>
  %v2 = clus.cluster_attention %a1, %a2, %a3 members(%v1) affinities(%a4, %a5) : tensor<?x1x31x?xf32>, tensor<3x1x31x?xf32>, tensor<?x1x31x?xf32>, tensor<3x?x9xi32>, tensor<3x1x?x5xf32>, tensor<?x1x31x5xf32>
  %v3 = tensor.cast %a6 : tensor<?x49x?xf32> to tensor<?x49x?xf32>
  %v4, %v5 = clus.kmeans %v3 init(%a7 : tensor<2x4x?xf32>) clusters = 4 iterations = 1 metric = l2 : tensor<?x49x?xf32>
  %v6 = clus.aggregate %v3, %v4 weights(%a8 : tensor<2x?xf32>) clusters = 4 reduction = weighted_mean eps = 0.0 : tensor<?x49x?xf32>, tensor<2x49xi32>
  %v7 = clus.broadcast %v6, %v4 : tensor<2x4x?xf32>, tensor<2x49xi32>
  return %v2, %v6, %v7 : tensor<3x1x31x?xf32>, tensor<2x4x?xf32>, tensor<2x49x?xf32>
}

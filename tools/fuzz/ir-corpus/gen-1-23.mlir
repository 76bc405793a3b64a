func.func @f0(%a0: tensor<1x2x100xbf16>, %a1: tensor<1x?x32xbf16>) -> (tensor<1x2x32xbf16>) {
  %v1 = clus.soft_assign %a0 : tensor<1x2x100xbf16>
  %v2 = clus.pool %v1, %a1 : tensor<1x2x100xbf16>, tensor<1x?x32xbf16>
  return %v2 : tensor<1x2x32xbf16>
}

func.func @f1(%a0: tensor<1x2x1xbf16>, %a1: tensor<?x4x2x?xbf16>, %a2: tensor<?x?x2x32xbf16>, %a3: tensor<?x?x?x?xbf16>, %a4: tensor<?x4x2x1xbf16>, %a5: tensor<?x4x2x1xbf16>) -> (tensor<1x4x2x?xbf16>) {
  %v1 = clus.topk_members %a0 capacity = 1 exclusive : tensor<1x2x1xbf16>
  %v2 = tensor.cast %a5 : tensor<?x4x2x1xbf16> to tensor<?x4x2x1xbf16>
  %v3 = clus.cluster_attention %a1, %a2, %a3 members(%v1) affinities(%a4, %v2) : tensor<?x4x2x?xbf16>, tensor<?x?x2x32xbf16>, tensor<?x?x?x?xbf16>, tensor<1x1x1xi32>, tensor<?x4x2x1xbf16>, tensor<?x4x2x1xbf16>
  return %v3 : tensor<1x4x2x?xbf16>
}

func.func @f2(%a0: tensor<1x16x16xf32>, %a1: tensor<1x2x3xf32>) -> (tensor<1x16xi32>, tensor<1x3x16xf32>, tensor<1x2x2xi32>, tensor<1x2x2xi32>) {
  %v1, %v2 = clus.kmeans %a0 clusters = 3 iterations = 1 : tensor<1x16x16xf32>
  %v3, %v4 = clus.dpc_knn %a1 clusters = [2, 2] : tensor<1x2x3xf32>
  return %v1, %v2, %v3, %v4 : tensor<1x16xi32>, tensor<1x3x16xf32>, tensor<1x2x2xi32>, tensor<1x2x2xi32>
}

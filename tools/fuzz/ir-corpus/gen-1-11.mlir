func.func @f0(%a0: tensor<1x33x10xf32>, %a1: tensor<1x4x33x48xf32>, %a2: tensor<1x4x33x48xf32>, %a3: tensor<1x4x33x32xf32>, %a4: tensor<1x4x33x10xf32>, %a5: tensor<1x4x33x10xf32>) -> (tensor<1x4x33x32xf32>) {
  %v1 = clus.topk_members %a0 capacity = 29 : tensor<1x33x10xf32>
  %v2 = clus.cluster_attention %a1, %a2, %a3 members(%v1) affinities(%a4, %a5) : tensor<1x4x33x48xf32>, tensor<1x4x33x48xf32>, tensor<1x4x33x32xf32>, tensor<1x10x29xi32>, tensor<1x4x33x10xf32>, tensor<1x4x33x10xf32>
  return %v2 : tensor<1x4x33x32xf32>
}

func.func @f1(%a0: tensor<?x?x7xbf16>, %a1: tensor<?x?x?xbf16>, %a2: tensor<?x7x48xf32>, %a3: tensor<1x?xi32>, %a4: tensor<1x7xf32>, %a5: tensor<1x?x48xf32>) -> (tensor<?x?x?xbf16>, tensor<1x6x48xf32>, tensor<1x?x48xf32>) {
  %v1 = clus.soft_assign %a0 axis = clusters : tensor<?x?x7xbf16>
  %v2 = clus.pool %v1, %a1 : tensor<?x?x7xbf16>, tensor<?x?x?xbf16>
  %v3 = clus.aggregate %a2, %a3 weights(%a4 : tensor<1x7xf32>) clusters = 6 reduction = weighted_mean eps = 1.0 : tensor<?x7x48xf32>, tensor<1x?xi32>
  %v4 = clus.broadcast %a5, %a3 : tensor<1x?x48xf32>, tensor<1x?xi32>
  return %v2, %v3, %v4 : tensor<?x?x?xbf16>, tensor<1x6x48xf32>, tensor<1x?x48xf32>
}

func.func @f2(%a0: tensor<2x?x3xf32>, %a1: tensor<2x15x3xf32>) -> (tensor<2x?xi32>, tensor<2x15x3xf32>) {
  %v1, %v2 = clus.kmeans %a0 init(%a1 : tensor<2x15x3xf32>) clusters = 15 iterations = 3 : tensor<2x?x3xf32>
  return %v1, %v2 : tensor<2x?xi32>, tensor<2x15x3xf32>
}

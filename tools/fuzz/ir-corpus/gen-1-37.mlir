func.func @f0(%a0: tensor<2x64x6xf32>, %a1: tensor<2x?x64x?xf32>, %a2: tensor<2x?x64x?xf32>, %a3: tensor<2x?x64x?xf32>, %a4: tensor<2x2x?x6xf32>, %a5: tensor<?x2x64x6xf32>, %a6: tensor<?x16x196xf16>, %a7: tensor<3x196x?xf16>) -> (tensor<2x2x64x?xf32>, tensor<3x16x?xf16>) {
  %v1 = clus.topk_members %a0 capacity = 8 exclusive : tensor<2x64x6xf32>
  %v2 = clus.cluster_attention %a1, %a2, %a3 members(%v1) affinities(%a4, %a5) scale = 0.125 summaries = true : tensor<2x?x64x?xf32>, tensor<2x?x64x?xf32>, tensor<2x?x64x?xf32>, tensor<2x6x8xi32>, tensor<2x2x?x6xf32>, tensor<?x2x64x6xf32>
  %v3 = clus.soft_assign %a6 axis = clusters : tensor<?x16x196xf16>
  %v4 = clus.pool %v3, %a7 : tensor<?x16x196xf16>, tensor<3x196x?xf16>
  return %v2, %v4 : tensor<2x2x64x?xf32>, tensor<3x16x?xf16>
}

func.func @f1(%a0: tensor<3x17x1xf32>, %a1: tensor<1x3x17x1xf32>, %a2: tensor<1x3x37x1xf32>, %a3: tensor<1x3x37x16xf32>) -> (tensor<3x3x17xi32>, tensor<3x3x14xi32>, tensor<1x3x17x16xf32>) {
  %v1, %v2 = clus.dpc_knn %a0 clusters = [12, 14, 11] k = 1 : tensor<3x17x1xf32>
  %v3 = clus.attention %a1, [%a2, %a3] : tensor<1x3x17x1xf32>, [tensor<1x3x37x1xf32>, tensor<1x3x37x16xf32>]
  return %v1, %v2, %v3 : tensor<3x3x17xi32>, tensor<3x3x14xi32>, tensor<1x3x17x16xf32>
}

func.func @f0(%a0: tensor<1x3x1x8xf32>, %a1: tensor<?x?x48x8xf32>, %a2: tensor<1x3x48x4xf32>, %a3: tensor<1x3x?x?xf32>, %a4: tensor<?x3x37x4xf32>, %a5: tensor<2x?x8x4xf16>, %a6: tensor<?x3x?x4xf16>, %a7: tensor<2x3x55x1xf16>) -> (tensor<1x3x1x4xf32>, tensor<2x3x8x1xf16>) {
  %v1 = tensor.cast %a2 : tensor<1x3x48x4xf32> to tensor<?x3x?x?xf32>
  %v2 = clus.attention %a0, [%a1, %v1], [%a3, %a4] : tensor<1x3x1x8xf32>, [tensor<?x?x48x8xf32>, tensor<?x3x?x?xf32>], [tensor<1x3x?x?xf32>, tensor<?x3x37x4xf32>]
  %v3 = clus.attention %a5, [%a6, %a7] : tensor<2x?x8x4xf16>, [tensor<?x3x?x4xf16>, tensor<2x3x55x1xf16>]
  return %v2, %v3 : tensor<1x3x1x4xf32>, tensor<2x3x8x1xf16>
}

func.func @f1(%a0: tensor<?x?x?xf32>, %a1: tensor<?x?xi32>, %a2: tensor<?x?xf32>, %a3: tensor<?x?x?xbf16>, %a4: tensor<?x?x?x?xbf16>, %a5: tensor<?x?x?x?xbf16>, %a6: tensor<?x?x?x?xbf16>, %a7: tensor<?x?x?x?xbf16>, %a8: tensor<?x?x?x?xbf16>) -> (tensor<?x1x?xf32>, tensor<?x?x?x?xbf16>) {
  %v1 = clus.aggregate %a0, %a1 weights(%a2 : tensor<?x?xf32>) clusters = 1 reduction = weighted_mean : tensor<?x?x?xf32>, tensor<?x?xi32>
  %v2 = clus.topk_members %a3 capacity = 2 exclusive : tensor<?x?x?xbf16>
  %v3 = clus.cluster_attention %a4, %a5, %a6 members(%v2) affinities(%a7, %a8) : tensor<?x?x?x?xbf16>, tensor<?x?x?x?xbf16>, tensor<?x?x?x?xbf16>, tensor<?x?x2xi32>, tensor<?x?x?x?xbf16>, tensor<?x?x?x?xbf16>
  return %v1, %v3 : tensor<?x1x?xf32>, tensor<?x?x?x?xbf16>
}

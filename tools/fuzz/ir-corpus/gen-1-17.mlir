func.func @f0(%a0: tensor<1x?x3x65xf32>, %a1: tensor<1x2x?x?xf32>, %a2: tensor<1x?x9x?xf32>, %a3: tensor<1x?x63x65xf32>, %a4: tensor<1x2x63x8xf32>, %a5: tensor<2x?x1xi32>, %a6: tensor<?x?x2x?xbf16>, %a7: tensor<2x4x2x1xbf16>, %a8: tensor<2x4x2x48xbf16>, %a9: tensor<2x4x2x2xbf16>, %a10: tensor<2x4x2x2xbf16>) -> (tensor<1x2x?x8xf32>, tensor<2x4x2x48xbf16>) {
  %v1 = tensor.cast %a0 : tensor<1x?x3x65xf32> to tensor<?x?x?x?xf32>
  %v2 = clus.attention %v1, [%a1, %a2], [%a3, %a4] : tensor<?x?x?x?xf32>, [tensor<1x2x?x?xf32>, tensor<1x?x9x?xf32>], [tensor<1x?x63x65xf32>, tensor<1x2x63x8xf32>]
  %v3 = clus.cluster_attention %a6, %a7, %a8 members(%a5) affinities(%a9, %a10) : tensor<?x?x2x?xbf16>, tensor<2x4x2x1xbf16>, tensor<2x4x2x48xbf16>, tensor<2x?x1xi32>, tensor<2x4x2x2xbf16>, tensor<2x4x2x2xbf16>
  return %v2, %v3 : tensor<1x2x?x8xf32>, tensor<2x4x2x48xbf16>
}

func.func @f1(%a0: tensor<?x?x?xf32>, %a1: tensor<?x?xi32>, %a2: tensor<?x?x?xf32>) -> (tensor<?x1x?xf32>, tensor<?x?x?xf32>) {
  %v1 = clus.aggregate %a0, %a1 clusters = 1 reduction = mean : tensor<?x?x?xf32>, tensor<?x?xi32>
  %v2 = clus.broadcast %a2, %a1 : tensor<?x?x?xf32>, tensor<?x?xi32>
  return %v1, %v2 : tensor<?x1x?xf32>, tensor<?x?x?xf32>
}

func.func @f2(%a0: tensor<1x196x32xbf16>, %a1: tensor<1x196xi32>) -> (tensor<1x9x32xbf16>) {
  %v1 = tensor.cast %a1 : tensor<1x196xi32> to tensor<?x196xi32>
  %v2 = clus.aggregate %a0, %v1 clusters = 9 reduction = sum : tensor<1x196x32xbf16>, tensor<?x196xi32>
  return %v2 : tensor<1x9x32xbf16>
}

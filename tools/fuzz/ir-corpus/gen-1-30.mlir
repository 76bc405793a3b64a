func.func @f0(%a0: tensor<2x49x5xf32>, %a1: tensor<2x4x49x4xf32>, %a2: tensor<2x4x49x4xf32>, %a3: tensor<2x4x49x65xf32>, %a4: tensor<2x4x49x5xf32>, %a5: tensor<2x4x49x5xf32>, %a6: tensor<3x2x5x15xf16>, %a7: tensor<3x2x5x15xf16>, %a8: tensor<3x2x5x64xf16>, %a9: tensor<3x2x20x15xf16>, %a10: tensor<3x2x20x64xf16>, %a11: tensor<3x2x37x15xf16>, %a12: tensor<3x2x37x64xf16>) -> (tensor<2x4x49x?xf32>, tensor<3x2x5x64xf16>) {
  %v1 = clus.topk_members %a0 capacity = 24 exclusive : tensor<2x49x5xf32>
  %v2 = tensor.cast %a3 : tensor<2x4x49x65xf32> to tensor<2x4x?x?xf32>
  %v3 = clus.cluster_attention %a1, %a2, %v2 members(%v1) affinities(%a4, %a5) : tensor<2x4x49x4xf32>, tensor<2x4x49x4xf32>, tensor<2x4x?x?xf32>, tensor<2x5x24xi32>, tensor<2x4x49x5xf32>, tensor<2x4x49x5xf32>
  %v4 = tensor.cast %a8 : tensor<3x2x5x64xf16> to tensor<3x2x?x64xf16>
  %v5 = tensor.cast %a9 : tensor<3x2x20x15xf16> to tensor<?x?x?x?xf16>
  %v6 = clus.attention %a6, [%a7, %v4], [%v5, %a10], [%a11, %a12] : tensor<3x2x5x15xf16>, [tensor<3x2x5x15xf16>, tensor<3x2x?x64xf16>], [tensor<?x?x?x?xf16>, tensor<3x2x20x64xf16>], [tensor<3x2x37x15xf16>, tensor<3x2x37x64xf16>]
  return %v3, %v6 : tensor<2x4x49x?xf32>, tensor<3x2x5x64xf16>
}

func.func @f0(%a0: tensor<1x2x16x65xf16>, %a1: tensor<1x2x30x65xf16>, %a2: tensor<1x2x30x48xf16>, %a3: tensor<1x2x13x65xf16>, %a4: tensor<1x2x13x48xf16>, %a5: tensor<1x2x32x65xf16>, %a6: tensor<1x2x32x48xf16>, %a7: tensor<1x33x6xf32>, %a8: tensor<1x3x33x33xf32>, %a9: tensor<1x3x33x33xf32>, %a10: tensor<1x3x33x1xf32>, %a11: tensor<1x3x33x6xf32>, %a12: tensor<1x3x33x6xf32>) -> (tensor<1x2x16x48xf16>, tensor<1x3x33x1xf32>) {
  %v1 = clus.attention %a0, [%a1, %a2], [%a3, %a4], [%a5, %a6] scale = 1.0 : tensor<1x2x16x65xf16>, [tensor<1x2x30x65xf16>, tensor<1x2x30x48xf16>], [tensor<1x2x13x65xf16>, tensor<1x2x13x48xf16>], [tensor<1x2x32x65xf16>, tensor<1x2x32x48xf16>]
  %v2 = tensor.cast %a7 : tensor<1x33x6xf32> to tensor<?x33x6xf32>
  %v3 = clus.topk_members %v2 capacity = 19 exclusive : tensor<?x33x6xf32>
  %v4 = tensor.cast %a11 : tensor<1x3x33x6xf32> to tensor<1x?x33x?xf32>
  %v5 = clus.cluster_attention %a8, %a9, %a10 members(%v3) affinities(%v4, %a12) summaries = true : tensor<1x3x33x33xf32>, tensor<1x3x33x33xf32>, tensor<1x3x33x1xf32>, tensor<?x6x19xi32>, tensor<1x?x33x?xf32>, tensor<1x3x33x6xf32>
  return %v1, %v5 : tensor<1x2x16x48xf16>, tensor<1x3x33x1xf32>
}

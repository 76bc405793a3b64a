func.func @f0(%a0: tensor<2x7x19xi32>, %a1: tensor<2x1x196x48xf16>, %a2: tensor<2x1x196x48xf16>, %a3: tensor<2x1x196x32xf16>, %a4: tensor<2x1x196x7xf16>, %a5: tensor<2x1x196x7xf16>, %a6: tensor<1x4x64x4xbf16>, %a7: tensor<1x4x63x4xbf16>, %a8: tensor<1x4x63x48xbf16>, %a9: tensor<1x4x24x4xbf16>, %a10: tensor<1x4x24x48xbf16>, %a11: tensor<1x4x45x4xbf16>, %a12: tensor<1x4x45x48xbf16>) -> (tensor<2x1x196x?xf16>, tensor<1x4x64x48xbf16>) {
  %v1 = tensor.cast %a3 : tensor<2x1x196x32xf16> to tensor<2x1x196x?xf16>
  %v2 = clus.cluster_attention %a1, %a2, %v1 members(%a0) affinities(%a4, %a5) scale = 2.5e-01 : tensor<2x1x196x48xf16>, tensor<2x1x196x48xf16>, tensor<2x1x196x?xf16>, tensor<2x7x19xi32>, tensor<2x1x196x7xf16>, tensor<2x1x196x7xf16>
  %v3 = tensor.cast %a10 : tensor<1x4x24x48xbf16> to tensor<1x?x?x48xbf16>
  %v4 = clus.attention %a6, [%a7, %a8], [%a9, %v3], [%a11, %a12] : tensor<1x4x64x4xbf16>, [tensor<1x4x63x4xbf16>, tensor<1x4x63x48xbf16>], [tensor<1x4x24x4xbf16>, tensor<1x?x?x48xbf16>], [tensor<1x4x45x4xbf16>, tensor<1x4x45x48xbf16>]
  return %v2, %v4 : tensor<2x1x196x?xf16>, tensor<1x4x64x48xbf16>
}

func.func @kmeans_bf16_one_iteration(%x: tensor<2x?x4xbf16>) -> (tensor<2x?xi32>, tensor<2x5x4xbf16>) {
  %a, %c = clus.kmeans %x clusters = 5 iterations = 1 : tensor<2x?x4xbf16>
  return %a, %c : tensor<2x?xi32>, tensor<2x5x4xbf16>
}

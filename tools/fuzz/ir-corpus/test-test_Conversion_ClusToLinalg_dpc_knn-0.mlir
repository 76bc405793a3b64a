func.func @dpc_knn_two_scales_k3(%x: tensor<1x8x2xf32>) -> (tensor<1x2x8xi32>, tensor<1x2x3xi32>) {
  %a, %c = clus.dpc_knn %x clusters = [2, 3] k = 3 : tensor<1x8x2xf32>
  return %a, %c : tensor<1x2x8xi32>, tensor<1x2x3xi32>
}

func.func @dpc_knn_f16_k1(%x: tensor<2x5x3xf16>) -> (tensor<2x2x5xi32>, tensor<2x2x4xi32>) {
  %a, %c = clus.dpc_knn %x clusters = [4, 1] k = 1 : tensor<2x5x3xf16>
  return %a, %c : tensor<2x2x5xi32>, tensor<2x2x4xi32>
}

func.func @dpc_knn_f16_k1(%x: tensor<2x5x3xf16>) -> (tensor<2x2x5xi32>, tensor<2x2x4xi32>) {
  %a_init = tensor.empty() : tensor<2x2x5xi32>
  %c_init = tensor.empty() : tensor<2x2x4xi32>
  %a, %c = clus.dpc_knn %x clusters = [4, 1] k = 1 outs(%a_init, %c_init)
      : tensor<2x5x3xf16> -> tensor<2x2x5xi32>, tensor<2x2x4xi32>
  return %a, %c : tensor<2x2x5xi32>, tensor<2x2x4xi32>
}

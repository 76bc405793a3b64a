func.func @dpc_knn_two_scales_k3(%x: tensor<1x8x2xf32>) -> (tensor<1x2x8xi32>, tensor<1x2x3xi32>) {
  %a_init = tensor.empty() : tensor<1x2x8xi32>
  %c_init = tensor.empty() : tensor<1x2x3xi32>
  %a, %c = clus.dpc_knn %x clusters = [2, 3] k = 3 outs(%a_init, %c_init)
      : tensor<1x8x2xf32> -> tensor<1x2x8xi32>, tensor<1x2x3xi32>
  return %a, %c : tensor<1x2x8xi32>, tensor<1x2x3xi32>
}

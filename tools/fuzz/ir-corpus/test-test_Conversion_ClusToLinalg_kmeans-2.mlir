func.func @kmeans_bf16_one_iteration(%x: tensor<2x?x4xbf16>) -> (tensor<2x?xi32>, tensor<2x5x4xbf16>) {
  %a_init_c1 = arith.constant 1 : index
  %a_init_d1 = tensor.dim %x, %a_init_c1 : tensor<2x?x4xbf16>
  %a_init = tensor.empty(%a_init_d1) : tensor<2x?xi32>
  %c_init = tensor.empty() : tensor<2x5x4xbf16>
  %a, %c = clus.kmeans %x clusters = 5 iterations = 1 outs(%a_init, %c_init)
      : tensor<2x?x4xbf16> -> tensor<2x?xi32>, tensor<2x5x4xbf16>
  return %a, %c : tensor<2x?xi32>, tensor<2x5x4xbf16>
}

func.func @kmeans_l2_default_init(%x: tensor<1x6x2xf32>) -> (tensor<1x6xi32>, tensor<1x2x2xf32>) {
  %a_init = tensor.empty() : tensor<1x6xi32>
  %c_init = tensor.empty() : tensor<1x2x2xf32>
  %a, %c = clus.kmeans %x clusters = 2 iterations = 3 outs(%a_init, %c_init)
      : tensor<1x6x2xf32> -> tensor<1x6xi32>, tensor<1x2x2xf32>
  return %a, %c : tensor<1x6xi32>, tensor<1x2x2xf32>
}

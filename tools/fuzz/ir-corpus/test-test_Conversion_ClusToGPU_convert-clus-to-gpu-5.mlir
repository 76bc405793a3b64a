func.func @kmeans(%x: tensor<1x9x4xf32>) -> (tensor<1x9xi32>, tensor<1x3x4xf32>) {
  %a_init = tensor.empty() : tensor<1x9xi32>
  %c_init = tensor.empty() : tensor<1x3x4xf32>
  %a, %c = clus.kmeans %x clusters = 3 iterations = 2 outs(%a_init, %c_init)
      : tensor<1x9x4xf32> -> tensor<1x9xi32>, tensor<1x3x4xf32>
  return %a, %c : tensor<1x9xi32>, tensor<1x3x4xf32>
}

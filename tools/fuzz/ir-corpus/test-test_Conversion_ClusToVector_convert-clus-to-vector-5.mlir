func.func @kmeans(%x: tensor<2x50x8xf32>) -> (tensor<2x50xi32>, tensor<2x7x8xf32>) {
  %a_init = tensor.empty() : tensor<2x50xi32>
  %c_init = tensor.empty() : tensor<2x7x8xf32>
  %a, %c = clus.kmeans %x clusters = 7 iterations = 3 metric = cosine outs(%a_init, %c_init)
      : tensor<2x50x8xf32> -> tensor<2x50xi32>, tensor<2x7x8xf32>
  return %a, %c : tensor<2x50xi32>, tensor<2x7x8xf32>
}

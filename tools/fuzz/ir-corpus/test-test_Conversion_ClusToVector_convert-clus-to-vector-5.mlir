func.func @kmeans(%x: tensor<2x50x8xf32>) -> (tensor<2x50xi32>, tensor<2x7x8xf32>) {
  %a, %c = clus.kmeans %x clusters = 7 iterations = 3 metric = cosine : tensor<2x50x8xf32>
  return %a, %c : tensor<2x50xi32>, tensor<2x7x8xf32>
}

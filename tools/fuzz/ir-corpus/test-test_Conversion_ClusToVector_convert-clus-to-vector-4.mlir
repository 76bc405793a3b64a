func.func @dpc_knn(%x: tensor<2x50x8xf32>) -> (tensor<2x2x50xi32>, tensor<2x2x9xi32>) {
  %a, %c = clus.dpc_knn %x clusters = [3, 9] : tensor<2x50x8xf32>
  return %a, %c : tensor<2x2x50xi32>, tensor<2x2x9xi32>
}

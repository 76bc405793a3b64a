func.func @dpc_knn_generic_array_attr(%x: tensor<2x8x16xf32>) {
  %a, %c = "clus.dpc_knn"(%x) <{clusters = [4]}> : (tensor<2x8x16xf32>) -> (tensor<2x1x8xi32>, tensor<2x1x4xi32>)
  return
}

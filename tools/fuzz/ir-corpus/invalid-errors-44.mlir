func.func @dpc_knn_generic_centers_width(%x: tensor<2x8x16xf32>) {
  %a, %c = "clus.dpc_knn"(%x) <{clusters = array<i64: 4, 6>}> : (tensor<2x8x16xf32>) -> (tensor<2x2x8xi32>, tensor<2x2x4xi32>)
  return
}

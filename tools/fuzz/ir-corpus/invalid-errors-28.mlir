func.func @kmeans_generic_zero_iterations(%x: tensor<2x8x16xf32>) {
  %a, %c = "clus.kmeans"(%x) <{clusters = 4 : i64, iterations = 0 : i64}> : (tensor<2x8x16xf32>) -> (tensor<2x8xi32>, tensor<2x4x16xf32>)
  return
}

func.func @aggregate_generic_f64_eps(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %y = "clus.aggregate"(%x, %a) <{clusters = 4 : i64, eps = 1.0e-6 : f64}> : (tensor<2x8x16xf32>, tensor<2x8xi32>) -> tensor<2x4x16xf32>
  return
}

func.func @aggregate_generic_one_operand(%x: tensor<2x8x16xf32>) {
  %y = "clus.aggregate"(%x) <{clusters = 4 : i64}> : (tensor<2x8x16xf32>) -> tensor<2x4x16xf32>
  return
}

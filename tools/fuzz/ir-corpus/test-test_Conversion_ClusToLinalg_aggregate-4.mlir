func.func @aggregate_refined_result_type(%x: tensor<?x?x3xf32>, %a: tensor<2x7xi32>) -> tensor<2x4x3xf32> {
  %y_init = tensor.empty() : tensor<2x4x3xf32>
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<?x?x3xf32>, tensor<2x7xi32> -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

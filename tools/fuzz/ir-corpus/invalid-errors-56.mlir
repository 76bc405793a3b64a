func.func @aggregate_weights_element_type(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>, %w: tensor<2x8xf16>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<2x8xf16>) clusters = 4 reduction = weighted_mean outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

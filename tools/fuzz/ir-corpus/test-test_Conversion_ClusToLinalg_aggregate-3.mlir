func.func @aggregate_weighted_mean_default_eps(%x: tensor<2x6x5xf32>, %a: tensor<2x6xi32>, %w: tensor<2x6xf32>) -> tensor<2x3x5xf32> {
  %y_init = tensor.empty() : tensor<2x3x5xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<2x6xf32>) clusters = 3 reduction = weighted_mean outs(%y_init)
      : tensor<2x6x5xf32>, tensor<2x6xi32> -> tensor<2x3x5xf32>
  return %y : tensor<2x3x5xf32>
}

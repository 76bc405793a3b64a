func.func @aggregate_broadcast(%x: tensor<2x50x8xf32>, %a: tensor<2x50xi32>, %w: tensor<2x50xf32>) -> (tensor<2x7x8xf32>, tensor<2x50x8xf32>) {
  %y_init = tensor.empty() : tensor<2x7x8xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<2x50xf32>) clusters = 7 reduction = weighted_mean outs(%y_init)
      : tensor<2x50x8xf32>, tensor<2x50xi32> -> tensor<2x7x8xf32>
  %b_init = tensor.empty() : tensor<2x50x8xf32>
  %b = clus.broadcast %y, %a outs(%b_init)
      : tensor<2x7x8xf32>, tensor<2x50xi32> -> tensor<2x50x8xf32>
  return %y, %b : tensor<2x7x8xf32>, tensor<2x50x8xf32>
}

func.func @aggregate_weighted_mean_bf16(%x: tensor<1x7x3xbf16>, %a: tensor<1x7xi32>, %w: tensor<1x7xbf16>) -> tensor<1x4x3xbf16> {
  %y_init = tensor.empty() : tensor<1x4x3xbf16>
  %y = clus.aggregate %x, %a weights(%w : tensor<1x7xbf16>) clusters = 4 reduction = weighted_mean eps = 1.0e-05 outs(%y_init)
      : tensor<1x7x3xbf16>, tensor<1x7xi32> -> tensor<1x4x3xbf16>
  return %y : tensor<1x4x3xbf16>
}

func.func @aggregate_missing_clusters(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %y_init = tensor.empty() : tensor<2x1x16xf32>
  %y = clus.aggregate %x, %a reduction = mean outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x1x16xf32>
  return
}

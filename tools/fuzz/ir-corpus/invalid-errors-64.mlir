func.func @aggregate_missing_clusters(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %y = clus.aggregate %x, %a reduction = mean : tensor<2x8x16xf32>, tensor<2x8xi32>
  return
}

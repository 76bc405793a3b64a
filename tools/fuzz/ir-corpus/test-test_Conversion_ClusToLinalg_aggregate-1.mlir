func.func @aggregate_mean_f16_dynamic(%x: tensor<?x?x?xf16>, %a: tensor<?x?xi32>) -> tensor<?x4x?xf16> {
  %y = clus.aggregate %x, %a clusters = 4 reduction = mean : tensor<?x?x?xf16>, tensor<?x?xi32>
  return %y : tensor<?x4x?xf16>
}

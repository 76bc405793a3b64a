func.func @aggregate_mean_f16_dynamic(%x: tensor<?x?x?xf16>, %a: tensor<?x?xi32>) -> tensor<?x4x?xf16> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf16>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf16>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x4x?xf16>
  %y = clus.aggregate %x, %a clusters = 4 reduction = mean outs(%y_init)
      : tensor<?x?x?xf16>, tensor<?x?xi32> -> tensor<?x4x?xf16>
  return %y : tensor<?x4x?xf16>
}

func.func @f0(%a0: tensor<1x3x15xf16>, %a1: tensor<1x3xf16>, %a2: tensor<1x2x15xf16>) -> (tensor<1x6x15xf16>, tensor<1x3x15xf16>) {
  %v1 = arith.constant dense<5> : tensor<1x3xi32>
  %v2 = clus.aggregate %a0, %v1 weights(%a1 : tensor<1x3xf16>) clusters = 6 reduction = weighted_mean : tensor<1x3x15xf16>, tensor<1x3xi32>
  %v3 = clus.broadcast %a2, %v1 : tensor<1x2x15xf16>, tensor<1x3xi32>
  return %v2, %v3 : tensor<1x6x15xf16>, tensor<1x3x15xf16>
}

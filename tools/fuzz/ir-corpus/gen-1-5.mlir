func.func @f0(%a0: tensor<1x3x15xf16>, %a1: tensor<1x3xf16>, %a2: tensor<1x2x15xf16>) -> (tensor<1x6x15xf16>, tensor<1x3x15xf16>) {
  %v1 = arith.constant dense<5> : tensor<1x3xi32>
  %v2_init = tensor.empty() : tensor<1x6x15xf16>
  %v2 = clus.aggregate %a0, %v1 weights(%a1 : tensor<1x3xf16>) clusters = 6 reduction = weighted_mean outs(%v2_init)
      : tensor<1x3x15xf16>, tensor<1x3xi32> -> tensor<1x6x15xf16>
  %v3_init = tensor.empty() : tensor<1x3x15xf16>
  %v3 = clus.broadcast %a2, %v1 outs(%v3_init)
      : tensor<1x2x15xf16>, tensor<1x3xi32> -> tensor<1x3x15xf16>
  return %v2, %v3 : tensor<1x6x15xf16>, tensor<1x3x15xf16>
}

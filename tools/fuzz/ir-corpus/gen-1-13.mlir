func.func @f0(%a0: tensor<1x7x4xf32>, %a1: tensor<1x7xi32>) -> (tensor<1x11x4xf32>) {
  %v1_init = tensor.empty() : tensor<1x11x4xf32>
  %v1 = clus.aggregate %a0, %a1 clusters = 11 reduction = sum eps = 1.0 outs(%v1_init)
      : tensor<1x7x4xf32>, tensor<1x7xi32> -> tensor<1x11x4xf32>
  return %v1 : tensor<1x11x4xf32>
}

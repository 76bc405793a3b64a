func.func @f0(%a0: tensor<1x?x1xf32>, %a1: tensor<?x64xi32>, %a2: tensor<?x64xf32>) -> (tensor<1x2x1xf32>) {
  %v1_init = tensor.empty() : tensor<1x2x1xf32>
  %v1 = clus.aggregate %a0, %a1 weights(%a2 : tensor<?x64xf32>) clusters = 2 reduction = weighted_mean outs(%v1_init)
      : tensor<1x?x1xf32>, tensor<?x64xi32> -> tensor<1x2x1xf32>
  return %v1 : tensor<1x2x1xf32>
}

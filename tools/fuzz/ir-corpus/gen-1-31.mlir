func.func @f0(%a0: tensor<3x196x8xf32>, %a1: tensor<3x196xi32>, %a2: tensor<3x196xf32>) -> (tensor<3x14x8xf32>) {
  %v1_init = tensor.empty() : tensor<3x14x8xf32>
  %v1 = clus.aggregate %a0, %a1 weights(%a2 : tensor<3x196xf32>) clusters = 14 reduction = weighted_mean outs(%v1_init)
      : tensor<3x196x8xf32>, tensor<3x196xi32> -> tensor<3x14x8xf32>
  return %v1 : tensor<3x14x8xf32>
}

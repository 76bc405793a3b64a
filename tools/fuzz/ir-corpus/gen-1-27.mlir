func.func @f0(%a0: tensor<3x2x1x33xf32>, %a1: tensor<3x2x39x33xf32>, %a2: tensor<3x2x39x1xf32>) -> (tensor<3x2x?x1xf32>) {
  %v1 = tensor.cast %a0 : tensor<3x2x1x33xf32> to tensor<?x2x?x?xf32>
  %v2_init_c2 = arith.constant 2 : index
  %v2_init_d2 = tensor.dim %v1, %v2_init_c2 : tensor<?x2x?x?xf32>
  %v2_init = tensor.empty(%v2_init_d2) : tensor<3x2x?x1xf32>
  %v2 = clus.attention %v1, [%a1, %a2] outs(%v2_init)
      : tensor<?x2x?x?xf32>, [tensor<3x2x39x33xf32>, tensor<3x2x39x1xf32>]
      -> tensor<3x2x?x1xf32>
  return %v2 : tensor<3x2x?x1xf32>
}

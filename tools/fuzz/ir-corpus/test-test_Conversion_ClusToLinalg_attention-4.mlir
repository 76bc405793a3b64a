func.func @attention_refined_result_type(%q: tensor<?x?x5x?xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x6xf32>) -> tensor<1x2x5x6xf32> {
  %o_init = tensor.empty() : tensor<1x2x5x6xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x?x5x?xf32>, [tensor<1x2x3x4xf32>, tensor<1x2x3x6xf32>]
      -> tensor<1x2x5x6xf32>
  return %o : tensor<1x2x5x6xf32>
}

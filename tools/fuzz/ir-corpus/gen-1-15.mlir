func.func @f0(%a0: tensor<1x6x8xi32>, %a1: tensor<1x2x8x15xf32>, %a2: tensor<1x2x8x15xf32>, %a3: tensor<1x2x8x15xf32>, %a4: tensor<1x2x8x6xf32>, %a5: tensor<1x2x8x6xf32>) -> (tensor<1x2x8x15xf32>) {
  %v1_init = tensor.empty() : tensor<1x2x8x15xf32>
  %v1 = clus.cluster_attention %a1, %a2, %a3 members(%a0) affinities(%a4, %a5) summaries = false outs(%v1_init)
      : tensor<1x2x8x15xf32>, tensor<1x2x8x15xf32>, tensor<1x2x8x15xf32>, tensor<1x6x8xi32>, tensor<1x2x8x6xf32>, tensor<1x2x8x6xf32>
      -> tensor<1x2x8x15xf32>
  return %v1 : tensor<1x2x8x15xf32>
}

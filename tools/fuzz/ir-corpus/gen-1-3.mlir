func.func @f0(%a0: tensor<1x31x12xf32>, %a1: tensor<1x2x31x1xf32>, %a2: tensor<1x2x31x1xf32>, %a3: tensor<1x2x31x33xf32>, %a4: tensor<1x2x31x12xf32>, %a5: tensor<1x2x31x12xf32>) -> (tensor<1x2x31x33xf32>) {
  %v1_init = tensor.empty() : tensor<1x12x31xi32>
  %v1 = clus.topk_members %a0 capacity = 31 outs(%v1_init)
      : tensor<1x31x12xf32> -> tensor<1x12x31xi32>
  %v2 = tensor.cast %a3 : tensor<1x2x31x33xf32> to tensor<1x?x?x33xf32>
  %v3_init = tensor.empty() : tensor<1x2x31x33xf32>
  %v3 = clus.cluster_attention %a1, %a2, %v2 members(%v1) affinities(%a4, %a5) summaries = false outs(%v3_init)
      : tensor<1x2x31x1xf32>, tensor<1x2x31x1xf32>, tensor<1x?x?x33xf32>, tensor<1x12x31xi32>, tensor<1x2x31x12xf32>, tensor<1x2x31x12xf32>
      -> tensor<1x2x31x33xf32>
  return %v3 : tensor<1x2x31x33xf32>
}

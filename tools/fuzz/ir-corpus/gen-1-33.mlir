func.func @f0(%a0: tensor<1x1x1xi32>, %a1: tensor<?x1x1x32xf16>, %a2: tensor<1x1x1x32xf16>, %a3: tensor<1x?x1x15xf16>, %a4: tensor<1x1x1x1xf16>, %a5: tensor<?x1x?x1xf16>) -> (tensor<1x1x1x15xf16>) {
  %v1 = tensor.cast %a4 : tensor<1x1x1x1xf16> to tensor<?x?x1x?xf16>
  %v2_init = tensor.empty() : tensor<1x1x1x15xf16>
  %v2 = clus.cluster_attention %a1, %a2, %a3 members(%a0) affinities(%v1, %a5) summaries = false outs(%v2_init)
      : tensor<?x1x1x32xf16>, tensor<1x1x1x32xf16>, tensor<1x?x1x15xf16>, tensor<1x1x1xi32>, tensor<?x?x1x?xf16>, tensor<?x1x?x1xf16>
      -> tensor<1x1x1x15xf16>
  return %v2 : tensor<1x1x1x15xf16>
}

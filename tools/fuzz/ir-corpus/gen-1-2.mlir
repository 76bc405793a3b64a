func.func @f0(%a0: tensor<2x7x19xi32>, %a1: tensor<2x1x196x48xf16>, %a2: tensor<2x1x196x48xf16>, %a3: tensor<2x1x196x32xf16>, %a4: tensor<2x1x196x7xf16>, %a5: tensor<2x1x196x7xf16>) -> (tensor<2x1x196x?xf16>) {
  %v1 = tensor.cast %a3 : tensor<2x1x196x32xf16> to tensor<2x1x196x?xf16>
  %v2_init_c3 = arith.constant 3 : index
  %v2_init_d3 = tensor.dim %v1, %v2_init_c3 : tensor<2x1x196x?xf16>
  %v2_init = tensor.empty(%v2_init_d3) : tensor<2x1x196x?xf16>
  %v2 = clus.cluster_attention %a1, %a2, %v1 members(%a0) affinities(%a4, %a5) scale = 2.5e-01 outs(%v2_init)
      : tensor<2x1x196x48xf16>, tensor<2x1x196x48xf16>, tensor<2x1x196x?xf16>, tensor<2x7x19xi32>, tensor<2x1x196x7xf16>, tensor<2x1x196x7xf16>
      -> tensor<2x1x196x?xf16>
  return %v2 : tensor<2x1x196x?xf16>
}

func.func @kmeans_refined_result_types(%x: tensor<?x6x?xf32>, %mu: tensor<1x?x2xf32>) -> (tensor<1x6xi32>, tensor<1x2x2xf32>) {
  %a_init = tensor.empty() : tensor<1x6xi32>
  %c_init = tensor.empty() : tensor<1x2x2xf32>
  %a, %c = clus.kmeans %x init(%mu : tensor<1x?x2xf32>) clusters = 2 iterations = 1 outs(%a_init, %c_init)
      : tensor<?x6x?xf32> -> tensor<1x6xi32>, tensor<1x2x2xf32>
  return %a, %c : tensor<1x6xi32>, tensor<1x2x2xf32>
}

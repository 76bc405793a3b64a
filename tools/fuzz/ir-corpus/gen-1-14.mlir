func.func @f0(%a0: tensor<?x?x7x?xf32>, %a1: tensor<1x4x11x?xf32>, %a2: tensor<?x?x11x4xf32>) -> (tensor<1x?x7x4xf32>) {
  %v1 = tensor.cast %a1 : tensor<1x4x11x?xf32> to tensor<1x?x?x?xf32>
  %v2 = clus.attention %a0, [%v1, %a2] : tensor<?x?x7x?xf32>, [tensor<1x?x?x?xf32>, tensor<?x?x11x4xf32>]
  return %v2 : tensor<1x?x7x4xf32>
}

func.func @f1(%a0: tensor<?x49x?xf32>, %a1: tensor<?x49xf32>) -> (tensor<2x6x?xf32>) {
  %v1 = arith.constant dense<-1> : tensor<2x49xi32>
  %v2 = clus.aggregate %a0, %v1 weights(%a1 : tensor<?x49xf32>) clusters = 6 reduction = weighted_mean : tensor<?x49x?xf32>, tensor<2x49xi32>
  return %v2 : tensor<2x6x?xf32>
}

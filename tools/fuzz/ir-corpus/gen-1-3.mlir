func.func @f0(%a0: tensor<?x2x?xf32>, %a1: tensor<?x?xi32>, %a2: tensor<?x2xf32>) -> (tensor<?x13x?xf32>) {
  %v1 = clus.aggregate %a0, %a1 weights(%a2 : tensor<?x2xf32>) clusters = 13 reduction = weighted_mean : tensor<?x2x?xf32>, tensor<?x?xi32>
  return %v1 : tensor<?x13x?xf32>
}

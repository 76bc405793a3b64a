func.func @f0(%a0: tensor<?x?x?xf32>, %a1: tensor<?x?xi32>) -> (tensor<?x16x?xf32>) {
  %v1 = clus.aggregate %a0, %a1 clusters = 16 reduction = sum : tensor<?x?x?xf32>, tensor<?x?xi32>
  return %v1 : tensor<?x16x?xf32>
}

func.func @f0(%a0: tensor<?x?x?xf16>, %a1: tensor<?x?xi32>, %a2: tensor<?x?x?xf16>) -> (tensor<?x3x?xf16>, tensor<?x?x?xf16>) {
  %v1 = clus.aggregate %a0, %a1 clusters = 3 : tensor<?x?x?xf16>, tensor<?x?xi32>
  %v2 = clus.broadcast %a2, %a1 : tensor<?x?x?xf16>, tensor<?x?xi32>
  return %v1, %v2 : tensor<?x3x?xf16>, tensor<?x?x?xf16>
}

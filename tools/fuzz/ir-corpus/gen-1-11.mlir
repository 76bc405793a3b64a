func.func @f0(%a0: tensor<?x?x?xf16>, %a1: tensor<?x5xi32>) -> (tensor<?x7x?xf16>) {
  %v1 = clus.aggregate %a0, %a1 clusters = 7 reduction = sum : tensor<?x?x?xf16>, tensor<?x5xi32>
  return %v1 : tensor<?x7x?xf16>
}

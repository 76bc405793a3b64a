func.func @f0(%a0: tensor<?x?x?xbf16>, %a1: tensor<?x?x?xbf16>, %a2: tensor<?x?x?xf16>) -> (tensor<?x?x?xbf16>, tensor<?x?x2xi32>) {
  %v1 = clus.soft_assign %a0 axis = clusters : tensor<?x?x?xbf16>
  %v2 = clus.pool %v1, %a1 : tensor<?x?x?xbf16>, tensor<?x?x?xbf16>
  %v3 = clus.topk_members %a2 capacity = 2 exclusive : tensor<?x?x?xf16>
  return %v2, %v3 : tensor<?x?x?xbf16>, tensor<?x?x2xi32>
}

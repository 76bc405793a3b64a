func.func @f0(%a0: tensor<?x?x?xbf16>, %a1: tensor<?x?x65xbf16>) -> (tensor<?x?x65xbf16>) {
  %v1, %v2 = clus.kmeans %a0 init(%a1 : tensor<?x?x65xbf16>) clusters = 1 iterations = 2 : tensor<?x?x?xbf16>
  %v3 = clus.broadcast %v2, %v1 : tensor<?x1x65xbf16>, tensor<?x?xi32>
  return %v3 : tensor<?x?x65xbf16>
}

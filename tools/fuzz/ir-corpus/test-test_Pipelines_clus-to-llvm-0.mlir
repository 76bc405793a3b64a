func.func @kmeans(%x: tensor<1x6x2xf32>) -> tensor<1x6xi32> {
  %a, %c = clus.kmeans %x clusters = 2 iterations = 3 : tensor<1x6x2xf32>
  return %a : tensor<1x6xi32>
}

func.func @pool_bf16(%z: tensor<?x4x?xbf16>, %x: tensor<?x?x8xbf16>) -> tensor<?x4x8xbf16> {
  %y = clus.pool %z, %x : tensor<?x4x?xbf16>, tensor<?x?x8xbf16>
  return %y : tensor<?x4x8xbf16>
}

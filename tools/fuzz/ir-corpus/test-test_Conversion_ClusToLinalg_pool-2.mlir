func.func @pool_bf16_dynamic(%z: tensor<?x?x?xbf16>, %x: tensor<?x?x?xbf16>) -> tensor<?x?x?xbf16> {
  %y = clus.pool %z, %x : tensor<?x?x?xbf16>, tensor<?x?x?xbf16>
  return %y : tensor<?x?x?xbf16>
}

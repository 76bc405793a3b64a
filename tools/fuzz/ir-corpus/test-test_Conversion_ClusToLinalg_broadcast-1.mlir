func.func @broadcast_f16_dynamic(%y: tensor<?x?x?xf16>, %a: tensor<?x?xi32>) -> tensor<?x?x?xf16> {
  %x = clus.broadcast %y, %a : tensor<?x?x?xf16>, tensor<?x?xi32>
  return %x : tensor<?x?x?xf16>
}

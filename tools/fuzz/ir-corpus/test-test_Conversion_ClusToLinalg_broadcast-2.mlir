func.func @broadcast_bf16_dynamic_tokens(%y: tensor<1x5x2xbf16>, %a: tensor<1x?xi32>) -> tensor<1x?x2xbf16> {
  %x = clus.broadcast %y, %a : tensor<1x5x2xbf16>, tensor<1x?xi32>
  return %x : tensor<1x?x2xbf16>
}

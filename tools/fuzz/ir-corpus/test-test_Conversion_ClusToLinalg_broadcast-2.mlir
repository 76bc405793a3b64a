func.func @broadcast_bf16_dynamic_tokens(%y: tensor<1x5x2xbf16>, %a: tensor<1x?xi32>) -> tensor<1x?x2xbf16> {
  %x_init_c1 = arith.constant 1 : index
  %x_init_d1 = tensor.dim %a, %x_init_c1 : tensor<1x?xi32>
  %x_init = tensor.empty(%x_init_d1) : tensor<1x?x2xbf16>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<1x5x2xbf16>, tensor<1x?xi32> -> tensor<1x?x2xbf16>
  return %x : tensor<1x?x2xbf16>
}

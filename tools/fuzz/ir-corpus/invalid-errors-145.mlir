func.func @broadcast_signed_assign(%y: tensor<2x4x16xf32>, %a: tensor<2x8xsi32>) {
  %x_init = tensor.empty() : tensor<2x8x16xf32>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x4x16xf32>, tensor<2x8xsi32> -> tensor<2x8x16xf32>
  return
}

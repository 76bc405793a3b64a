func.func @broadcast_signed_assign(%y: tensor<2x4x16xf32>, %a: tensor<2x8xsi32>) {
  %x = clus.broadcast %y, %a : tensor<2x4x16xf32>, tensor<2x8xsi32>
  return
}

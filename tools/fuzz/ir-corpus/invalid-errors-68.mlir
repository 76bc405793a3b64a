func.func @broadcast_f32_assign(%y: tensor<2x4x64xf32>, %a: tensor<2x8xf32>) {
  %x = clus.broadcast %y, %a : tensor<2x4x64xf32>, tensor<2x8xf32>
  return
}

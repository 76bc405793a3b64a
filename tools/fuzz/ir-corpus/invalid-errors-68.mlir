func.func @broadcast_f32_assign(%y: tensor<2x4x64xf32>, %a: tensor<2x8xf32>) {
  %x_init = tensor.empty() : tensor<2x8x64xf32>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x4x64xf32>, tensor<2x8xf32> -> tensor<2x8x64xf32>
  return
}

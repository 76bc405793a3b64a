func.func @soft_assign_rank(%l: tensor<4x8xf32>) {
  %z_init = tensor.empty() : tensor<4x8x1xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<4x8xf32>
  return
}

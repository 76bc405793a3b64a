func.func @broadcast_refined_result_type(%y: tensor<?x4x3xf32>, %a: tensor<2x7xi32>) -> tensor<2x7x3xf32> {
  %x_init = tensor.empty() : tensor<2x7x3xf32>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<?x4x3xf32>, tensor<2x7xi32> -> tensor<2x7x3xf32>
  return %x : tensor<2x7x3xf32>
}

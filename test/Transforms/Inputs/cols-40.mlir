// A config legal in the dialect (a multiple of 4) but not for 16 lanes.
func.func @cols_not_multiple_of_width(%z: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<cols = 40>} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

func.func @tile_attribute(%q: tensor<1x1x9x16xf32>, %k: tensor<1x1x5x16xf32>, %v: tensor<1x1x5x16xf32>) -> tensor<1x1x9x16xf32> {
  %o_init = tensor.empty() : tensor<1x1x9x16xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 2, cols = 32>}
      : tensor<1x1x9x16xf32>, [tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>]
      -> tensor<1x1x9x16xf32>
  return %o : tensor<1x1x9x16xf32>
}

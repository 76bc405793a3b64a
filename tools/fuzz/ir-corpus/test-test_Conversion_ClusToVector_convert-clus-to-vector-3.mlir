func.func @tile_attribute(%q: tensor<1x1x9x16xf32>, %k: tensor<1x1x5x16xf32>, %v: tensor<1x1x5x16xf32>) -> tensor<1x1x9x16xf32> {
  %o_init = tensor.empty() : tensor<1x1x9x16xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init) {clus.tile = {rows = 2 : i64, cols = 32 : i64}}
      : tensor<1x1x9x16xf32>, [tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>]
      -> tensor<1x1x9x16xf32>
  return %o : tensor<1x1x9x16xf32>
}

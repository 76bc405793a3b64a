// NAME is replaced by the test (sed) with the function name to check.
func.func @NAME(%q: tensor<1x2x50x24xf32>, %k: tensor<1x2x7x24xf32>) -> tensor<1x2x50x24xf32> {
  %o_init = tensor.empty() : tensor<1x2x50x24xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init)
      : tensor<1x2x50x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>]
      -> tensor<1x2x50x24xf32>
  return %o : tensor<1x2x50x24xf32>
}

func.func @attention(%q: tensor<1x2x50x24xf32>, %k: tensor<1x2x7x24xf32>) -> tensor<1x2x50x24xf32> {
  %o = clus.attention %q, [%k, %k] : tensor<1x2x50x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>]
  return %o : tensor<1x2x50x24xf32>
}


func.func @kmeans(%x: tensor<1x50x8xf32>) -> tensor<1x7x8xf32> {
  %a, %c = clus.kmeans %x clusters = 7 iterations = 2 : tensor<1x50x8xf32>
  %y = clus.aggregate %x, %a clusters = 7 : tensor<1x50x8xf32>, tensor<1x50xi32>
  return %y : tensor<1x7x8xf32>
}

func.func @kmeans(%x: tensor<1x6x2xf32>) -> tensor<1x6xi32> {
  %a_init = tensor.empty() : tensor<1x6xi32>
  %c_init = tensor.empty() : tensor<1x2x2xf32>
  %a, %c = clus.kmeans %x clusters = 2 iterations = 3 outs(%a_init, %c_init)
      : tensor<1x6x2xf32> -> tensor<1x6xi32>, tensor<1x2x2xf32>
  return %a : tensor<1x6xi32>
}

func.func @pool_bf16(%z: tensor<?x4x?xbf16>, %x: tensor<?x?x8xbf16>) -> tensor<?x4x8xbf16> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %z, %y_init_c0 : tensor<?x4x?xbf16>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x4x8xbf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x4x?xbf16>, tensor<?x?x8xbf16> -> tensor<?x4x8xbf16>
  return %y : tensor<?x4x8xbf16>
}

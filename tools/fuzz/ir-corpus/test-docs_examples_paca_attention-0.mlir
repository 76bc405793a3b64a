func.func @paca_attention(%logits: tensor<1x2x6xf32>, %x: tensor<1x6x4xf32>,
                          %q: tensor<1x1x6x4xf32>) -> tensor<1x1x6x4xf32> {
  %z_init = tensor.empty() : tensor<1x2x6xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<1x2x6xf32>
  %c_init = tensor.empty() : tensor<1x2x4xf32>
  %c = clus.pool %z, %x outs(%c_init)
      : tensor<1x2x6xf32>, tensor<1x6x4xf32> -> tensor<1x2x4xf32>
  %kv = tensor.expand_shape %c [[0, 1], [2], [3]] output_shape [1, 1, 2, 4]
      : tensor<1x2x4xf32> into tensor<1x1x2x4xf32>
  %o_init = tensor.empty() : tensor<1x1x6x4xf32>
  %o = clus.attention %q, [%kv, %kv] outs(%o_init)
      : tensor<1x1x6x4xf32>, [tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>]
      -> tensor<1x1x6x4xf32>
  return %o : tensor<1x1x6x4xf32>
}

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  %logits = arith.constant dense<[[[2.0, 2.0, 2.0, -2.0, -2.0, -2.0],
                                   [-2.0, -2.0, -2.0, 2.0, 2.0, 2.0]]]>
      : tensor<1x2x6xf32>
  %x = arith.constant dense<[[[1.0, 0.0, 0.0, 0.0], [1.0, 0.1, 0.0, 0.0],
                              [0.9, 0.0, 0.1, 0.0], [0.0, 0.0, 1.0, 0.0],
                              [0.0, 0.1, 1.0, 0.0], [0.0, 0.0, 0.9, 0.1]]]>
      : tensor<1x6x4xf32>
  %q = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [1, 1, 6, 4]
      : tensor<1x6x4xf32> into tensor<1x1x6x4xf32>
  %o = call @paca_attention(%logits, %x, %q)
      : (tensor<1x2x6xf32>, tensor<1x6x4xf32>, tensor<1x1x6x4xf32>)
      -> tensor<1x1x6x4xf32>
  %u = tensor.cast %o : tensor<1x1x6x4xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func private @printMemrefF32(tensor<*xf32>)
func.func private @printMemrefI32(tensor<*xi32>)

func.func @km(%x: tensor<1x6x2xf32>) -> (tensor<1x6xi32>, tensor<1x2x2xf32>) {
  %a_init = tensor.empty() : tensor<1x6xi32>
  %c_init = tensor.empty() : tensor<1x2x2xf32>
  %a, %c = clus.kmeans %x clusters = 2 iterations = 3 outs(%a_init, %c_init)
      : tensor<1x6x2xf32> -> tensor<1x6xi32>, tensor<1x2x2xf32>
  return %a, %c : tensor<1x6xi32>, tensor<1x2x2xf32>
}

func.func @main() {
  %x = arith.constant dense<[[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]]]> : tensor<1x6x2xf32>
  %a, %c = call @km(%x) : (tensor<1x6x2xf32>) -> (tensor<1x6xi32>, tensor<1x2x2xf32>)
  %au = tensor.cast %a : tensor<1x6xi32> to tensor<*xi32>
  call @printMemrefI32(%au) : (tensor<*xi32>) -> ()
  %cu = tensor.cast %c : tensor<1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%cu) : (tensor<*xf32>) -> ()
  return
}

func.func private @printMemrefF32(tensor<*xf32>)
func.func private @printMemrefI32(tensor<*xi32>)

func.func @main() {
  %x = arith.constant dense<[[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]],
                             [[8.0, 8.0], [0.0, 0.0], [0.0, 0.25], [0.25, 0.0], [3.0, 3.0], [3.0, 3.5]]]> : tensor<2x6x2xf32>
  %assign, %centers = clus.dpc_knn %x clusters = [2, 3] k = 2 : tensor<2x6x2xf32>
  %au = tensor.cast %assign : tensor<2x2x6xi32> to tensor<*xi32>
  call @printMemrefI32(%au) : (tensor<*xi32>) -> ()
  %cu = tensor.cast %centers : tensor<2x2x3xi32> to tensor<*xi32>
  call @printMemrefI32(%cu) : (tensor<*xi32>) -> ()

  %xb = arith.constant dense<[[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]]]> : tensor<1x6x2xf32>
  %ka, %kc = clus.kmeans %xb clusters = 2 iterations = 3 : tensor<1x6x2xf32>
  %kau = tensor.cast %ka : tensor<1x6xi32> to tensor<*xi32>
  call @printMemrefI32(%kau) : (tensor<*xi32>) -> ()
  %kcu = tensor.cast %kc : tensor<1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%kcu) : (tensor<*xf32>) -> ()

  %xc = arith.constant dense<[[[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 5.0]]]> : tensor<1x4x2xf32>
  %mu = arith.constant dense<[[[1.0, 1.0], [0.0, 1.0]]]> : tensor<1x2x2xf32>
  %ca, %cc = clus.kmeans %xc init(%mu : tensor<1x2x2xf32>) clusters = 2 iterations = 2 metric = cosine : tensor<1x4x2xf32>
  %cau = tensor.cast %ca : tensor<1x4xi32> to tensor<*xi32>
  call @printMemrefI32(%cau) : (tensor<*xi32>) -> ()
  %ccu = tensor.cast %cc : tensor<1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%ccu) : (tensor<*xf32>) -> ()
  return
}

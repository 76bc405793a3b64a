func.func private @printMemrefF32(tensor<*xf32>)
func.func private @printMemrefI32(tensor<*xi32>)

func.func @print_members(%m: tensor<1x2x?xi32>) {
  %u = tensor.cast %m : tensor<1x2x?xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}

func.func @print_out(%o: tensor<1x1x4x2xf32>) {
  %u = tensor.cast %o : tensor<1x1x4x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func @main() {
  %g = arith.constant dense<[[[0.9, 0.1], [0.5, 0.5], [0.5, 0.8], [0.2, 0.8], [0.7, 0.3]]]> : tensor<1x5x2xf32>

  %t3 = clus.topk_members %g capacity = 3 : tensor<1x5x2xf32>
  %t3d = tensor.cast %t3 : tensor<1x2x3xi32> to tensor<1x2x?xi32>
  call @print_members(%t3d) : (tensor<1x2x?xi32>) -> ()

  %t6 = clus.topk_members %g capacity = 6 : tensor<1x5x2xf32>
  %t6d = tensor.cast %t6 : tensor<1x2x6xi32> to tensor<1x2x?xi32>
  call @print_members(%t6d) : (tensor<1x2x?xi32>) -> ()

  %x4 = clus.topk_members %g capacity = 4 exclusive : tensor<1x5x2xf32>
  %x4d = tensor.cast %x4 : tensor<1x2x4xi32> to tensor<1x2x?xi32>
  call @print_members(%x4d) : (tensor<1x2x?xi32>) -> ()
  %x2 = clus.topk_members %g capacity = 2 exclusive : tensor<1x5x2xf32>
  %x2d = tensor.cast %x2 : tensor<1x2x2xi32> to tensor<1x2x?xi32>
  call @print_members(%x2d) : (tensor<1x2x?xi32>) -> ()

  %q = arith.constant dense<[[[[0.0], [1.0], [20.0], [0.0]]]]> : tensor<1x1x4x1xf32>
  %k = arith.constant dense<[[[[0.0], [1.09861229], [5.0], [0.0]]]]> : tensor<1x1x4x1xf32>
  %v = arith.constant dense<[[[[10.0, 1.0], [20.0, 2.0], [30.0, 3.0], [40.0, 4.0]]]]> : tensor<1x1x4x2xf32>
  %mem = arith.constant dense<[[[0, 1], [2, -1]]]> : tensor<1x2x2xi32>
  %aq = arith.constant dense<[[[[7.0, 0.0], [7.0, 1.38629436], [100.0, 7.0], [0.0, 1.09861229]]]]> : tensor<1x1x4x2xf32>
  %ak = arith.constant dense<[[[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 1.60943791]]]]> : tensor<1x1x4x2xf32>
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) : tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>, tensor<1x1x4x2xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
  call @print_out(%o) : (tensor<1x1x4x2xf32>) -> ()

  %r = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) scale = 1.000000e+00 summaries = false : tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>, tensor<1x1x4x2xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
  call @print_out(%r) : (tensor<1x1x4x2xf32>) -> ()

  %mem2 = arith.constant dense<[[[0, 1], [1, -1]]]> : tensor<1x2x2xi32>
  %r2 = clus.cluster_attention %q, %k, %v members(%mem2) affinities(%aq, %ak) summaries = false : tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>, tensor<1x1x4x2xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
  call @print_out(%r2) : (tensor<1x1x4x2xf32>) -> ()
  %o2 = clus.cluster_attention %q, %k, %v members(%mem2) affinities(%aq, %ak) : tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>, tensor<1x1x4x2xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
  call @print_out(%o2) : (tensor<1x1x4x2xf32>) -> ()
  return
}

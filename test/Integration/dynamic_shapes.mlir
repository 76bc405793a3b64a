// RUN: clusopt-opt %s --clus-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// End to end with dynamic shapes: every function below takes fully dynamic
// tensors (`?` dims), so sizes, loop bounds, range guards, μ⁰ rows and the
// default attention scale are all computed at run time. `main` calls them on
// constants cast to dynamic types, some twice with different shapes. The
// inputs repeat cases of the static integration tests, whose expected values
// were worked out by hand.

func.func private @printMemrefF32(tensor<*xf32>)
func.func private @printMemrefI32(tensor<*xi32>)

func.func @soft_pool(%l: tensor<?x?x?xf32>, %x: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x?x?xf32>
  %z_init_c1 = arith.constant 1 : index
  %z_init_d1 = tensor.dim %l, %z_init_c1 : tensor<?x?x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %l, %z_init_c2 : tensor<?x?x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d1, %z_init_d2) : tensor<?x?x?xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<?x?x?xf32>
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %l, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c1 = arith.constant 1 : index
  %y_init_d1 = tensor.dim %l, %y_init_c1 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d1, %y_init_d2) : tensor<?x?x?xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x?x?xf32>, tensor<?x?x?xf32> -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}

func.func @mean(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>) -> tensor<?x3x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x3x?xf32>
  %y = clus.aggregate %x, %a clusters = 3 reduction = mean outs(%y_init)
      : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x3x?xf32>
  return %y : tensor<?x3x?xf32>
}

func.func @bcast(%y: tensor<?x?x?xf32>, %a: tensor<?x?xi32>) -> tensor<?x?x?xf32> {
  %x_init_c0 = arith.constant 0 : index
  %x_init_d0 = tensor.dim %y, %x_init_c0 : tensor<?x?x?xf32>
  %x_init_c1 = arith.constant 1 : index
  %x_init_d1 = tensor.dim %a, %x_init_c1 : tensor<?x?xi32>
  %x_init_c2 = arith.constant 2 : index
  %x_init_d2 = tensor.dim %y, %x_init_c2 : tensor<?x?x?xf32>
  %x_init = tensor.empty(%x_init_d0, %x_init_d1, %x_init_d2) : tensor<?x?x?xf32>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x?x?xf32>
  return %x : tensor<?x?x?xf32>
}

func.func @attn(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x?x?x?xf32>
  %o_init_c1 = arith.constant 1 : index
  %o_init_d1 = tensor.dim %q, %o_init_c1 : tensor<?x?x?x?xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x?x?x?xf32>
  %o_init_c3 = arith.constant 3 : index
  %o_init_d3 = tensor.dim %v, %o_init_c3 : tensor<?x?x?x?xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d1, %o_init_d2, %o_init_d3) : tensor<?x?x?x?xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x?x?x?xf32>, [tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>]
      -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

func.func @dpc(%x: tensor<?x?x?xf32>) -> (tensor<?x2x?xi32>, tensor<?x2x3xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x3xi32>
  %a, %c = clus.dpc_knn %x clusters = [2, 3] k = 2 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x3xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x3xi32>
}

func.func @satopk(%g: tensor<?x?x?xf32>) -> tensor<?x?x4xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x4xi32>
  %m = clus.topk_members %g capacity = 4 exclusive outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x4xi32>
  return %m : tensor<?x?x4xi32>
}

func.func @cast_attn(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>, %m: tensor<?x?x?xi32>, %aq: tensor<?x?x?x?xf32>, %ak: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x?x?x?xf32>
  %o_init_c1 = arith.constant 1 : index
  %o_init_d1 = tensor.dim %q, %o_init_c1 : tensor<?x?x?x?xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x?x?x?xf32>
  %o_init_c3 = arith.constant 3 : index
  %o_init_d3 = tensor.dim %v, %o_init_c3 : tensor<?x?x?x?xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d1, %o_init_d2, %o_init_d3) : tensor<?x?x?x?xf32>
  %o = clus.cluster_attention %q, %k, %v members(%m) affinities(%aq, %ak) outs(%o_init)
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xi32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
      -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

func.func @print3(%t: tensor<?x?x?xf32>) {
  %u = tensor.cast %t : tensor<?x?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func @main() {
  // soft_assign + pool, shape 1: uniform row and softmax([1, 2, 3, 4]).
  %l1 = arith.constant dense<[[[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]]]> : tensor<1x2x4xf32>
  %x1 = arith.constant dense<[[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]]]> : tensor<1x4x2xf32>
  %l1d = tensor.cast %l1 : tensor<1x2x4xf32> to tensor<?x?x?xf32>
  %x1d = tensor.cast %x1 : tensor<1x4x2xf32> to tensor<?x?x?xf32>
  %y1 = call @soft_pool(%l1d, %x1d) : (tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  call @print3(%y1) : (tensor<?x?x?xf32>) -> ()
  // CHECK:      Unranked Memref base@ = {{.*}} rank = 3 offset = 0 sizes = [1, 2, 2] strides = [4, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[1,   0.25],
  // CHECK-NEXT: [1.5567{{[0-9]*}},   -0.31988{{[0-9]*}}]]]

  // Same function, shape 2: B = 2, M = 1, N = 3, C = 1; constant logits give
  // weights 1/3: means of [3, 6, 9] and [1, 2, 3].
  %l2 = arith.constant dense<5.0> : tensor<2x1x3xf32>
  %x2 = arith.constant dense<[[[3.0], [6.0], [9.0]], [[1.0], [2.0], [3.0]]]> : tensor<2x3x1xf32>
  %l2d = tensor.cast %l2 : tensor<2x1x3xf32> to tensor<?x?x?xf32>
  %x2d = tensor.cast %x2 : tensor<2x3x1xf32> to tensor<?x?x?xf32>
  %y2 = call @soft_pool(%l2d, %x2d) : (tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  call @print3(%y2) : (tensor<?x?x?xf32>) -> ()
  // CHECK:      sizes = [2, 1, 1] strides = [1, 1, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[6]],
  // CHECK-NEXT: {{\[}}[2]]]

  // aggregate mean with out-of-range entries -1, 7, 3, -7 (M = 3).
  %ax = arith.constant dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]],
                              [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0], [5.0, 5.0]]]> : tensor<2x5x2xf32>
  %aa = arith.constant dense<[[0, 2, 0, -1, 7], [1, 1, 1, 3, -7]]> : tensor<2x5xi32>
  %axd = tensor.cast %ax : tensor<2x5x2xf32> to tensor<?x?x?xf32>
  %aad = tensor.cast %aa : tensor<2x5xi32> to tensor<?x?xi32>
  %am = call @mean(%axd, %aad) : (tensor<?x?x?xf32>, tensor<?x?xi32>) -> tensor<?x3x?xf32>
  %amu = tensor.cast %am : tensor<?x3x?xf32> to tensor<*xf32>
  call @printMemrefF32(%amu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [2, 3, 2] strides = [6, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[3,   4],
  // CHECK-NEXT: [0,   0],
  // CHECK-NEXT: [3,   4]],
  // CHECK-NEXT: {{\[}}[0,   0],
  // CHECK-NEXT: [2,   2],
  // CHECK-NEXT: [0,   0]]]

  // broadcast: the guard bound M = 2 is a run-time value here, so 2 is out of
  // range as well as -1.
  %by = arith.constant dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]> : tensor<1x2x3xf32>
  %ba = arith.constant dense<[[1, 2, -1, 0]]> : tensor<1x4xi32>
  %byd = tensor.cast %by : tensor<1x2x3xf32> to tensor<?x?x?xf32>
  %bad = tensor.cast %ba : tensor<1x4xi32> to tensor<?x?xi32>
  %bx = call @bcast(%byd, %bad) : (tensor<?x?x?xf32>, tensor<?x?xi32>) -> tensor<?x?x?xf32>
  call @print3(%bx) : (tensor<?x?x?xf32>) -> ()
  // CHECK:      sizes = [1, 4, 3] strides = [12, 3, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[4,   5,   6],
  // CHECK-NEXT: [0,   0,   0],
  // CHECK-NEXT: [0,   0,   0],
  // CHECK-NEXT: [1,   2,   3]]]

  // attention with the default scale 1/sqrt(D) computed from the run-time
  // D = 4: head 0 -> 5, head 1 -> 0.880797 (see attention.mlir).
  %qh = arith.constant dense<[[[[2.19722458, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 2.0]]]]> : tensor<1x2x1x4xf32>
  %kh = arith.constant dense<[[[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
                               [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, -1.0]]]]> : tensor<1x2x2x4xf32>
  %vh = arith.constant dense<[[[[4.0], [8.0]], [[1.0], [0.0]]]]> : tensor<1x2x2x1xf32>
  %qhd = tensor.cast %qh : tensor<1x2x1x4xf32> to tensor<?x?x?x?xf32>
  %khd = tensor.cast %kh : tensor<1x2x2x4xf32> to tensor<?x?x?x?xf32>
  %vhd = tensor.cast %vh : tensor<1x2x2x1xf32> to tensor<?x?x?x?xf32>
  %oh = call @attn(%qhd, %khd, %vhd) : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  %ohu = tensor.cast %oh : tensor<?x?x?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%ohu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2, 1, 1] strides = [2, 1, 1, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}{{\[}}[5]],
  // CHECK-NEXT: {{\[}}[0.88079{{[0-9]*}}]]]]

  // kmeans on the two blobs: μ⁰ rows floor(m·N/M) with the run-time N = 6.
  // (Called here rather than from a function returning its results: that
  // case is kmeans_return.mlir.)
  %kx = arith.constant dense<[[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]]]> : tensor<1x6x2xf32>
  %kxd = tensor.cast %kx : tensor<1x6x2xf32> to tensor<?x?x?xf32>
  %ka_init_c0 = arith.constant 0 : index
  %ka_init_d0 = tensor.dim %kxd, %ka_init_c0 : tensor<?x?x?xf32>
  %ka_init_c1 = arith.constant 1 : index
  %ka_init_d1 = tensor.dim %kxd, %ka_init_c1 : tensor<?x?x?xf32>
  %ka_init = tensor.empty(%ka_init_d0, %ka_init_d1) : tensor<?x?xi32>
  %kc_init_c0 = arith.constant 0 : index
  %kc_init_d0 = tensor.dim %kxd, %kc_init_c0 : tensor<?x?x?xf32>
  %kc_init_c2 = arith.constant 2 : index
  %kc_init_d2 = tensor.dim %kxd, %kc_init_c2 : tensor<?x?x?xf32>
  %kc_init = tensor.empty(%kc_init_d0, %kc_init_d2) : tensor<?x2x?xf32>
  %ka, %kc = clus.kmeans %kxd clusters = 2 iterations = 3 outs(%ka_init, %kc_init)
      : tensor<?x?x?xf32> -> tensor<?x?xi32>, tensor<?x2x?xf32>
  %kau = tensor.cast %ka : tensor<?x?xi32> to tensor<*xi32>
  call @printMemrefI32(%kau) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 6] strides = [6, 1] data =
  // CHECK-NEXT: {{\[}}[0,   0,   0,   1,   1,   1]]
  %kcu = tensor.cast %kc : tensor<?x2x?xf32> to tensor<*xf32>
  call @printMemrefF32(%kcu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2, 2] strides = [4, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[0.333333,   0.333333],
  // CHECK-NEXT: [10.3333,   10.3333]]]

  // dpc_knn on the outlier / tight blob / loose pair set (see
  // dpc_knn_kmeans.mlir, batch 1).
  %dx = arith.constant dense<[[[8.0, 8.0], [0.0, 0.0], [0.0, 0.25], [0.25, 0.0], [3.0, 3.0], [3.0, 3.5]]]> : tensor<1x6x2xf32>
  %dxd = tensor.cast %dx : tensor<1x6x2xf32> to tensor<?x?x?xf32>
  %da, %dc = call @dpc(%dxd) : (tensor<?x?x?xf32>) -> (tensor<?x2x?xi32>, tensor<?x2x3xi32>)
  %dau = tensor.cast %da : tensor<?x2x?xi32> to tensor<*xi32>
  call @printMemrefI32(%dau) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 2, 6] strides = [12, 6, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[1,   0,   0,   0,   1,   1],
  // CHECK-NEXT: [2,   0,   0,   0,   1,   2]]]
  %dcu = tensor.cast %dc : tensor<?x2x3xi32> to tensor<*xi32>
  call @printMemrefI32(%dcu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 2, 3] strides = [6, 3, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[1,   4,   -1],
  // CHECK-NEXT: [1,   4,   5]]]

  // SA-Top-K with ties (see topk_cluster_attention.mlir).
  %g = arith.constant dense<[[[0.9, 0.1], [0.5, 0.5], [0.5, 0.8], [0.2, 0.8], [0.7, 0.3]]]> : tensor<1x5x2xf32>
  %gd = tensor.cast %g : tensor<1x5x2xf32> to tensor<?x?x?xf32>
  %mem4 = call @satopk(%gd) : (tensor<?x?x?xf32>) -> tensor<?x?x4xi32>
  %mem4u = tensor.cast %mem4 : tensor<?x?x4xi32> to tensor<*xi32>
  call @printMemrefI32(%mem4u) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 2, 4] strides = [8, 4, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[0,   4,   1,   -1],
  // CHECK-NEXT: [2,   3,   -1,   -1]]]

  // cluster_attention with summaries (see topk_cluster_attention.mlir).
  %q = arith.constant dense<[[[[0.0], [1.0], [20.0], [0.0]]]]> : tensor<1x1x4x1xf32>
  %k = arith.constant dense<[[[[0.0], [1.09861229], [5.0], [0.0]]]]> : tensor<1x1x4x1xf32>
  %v = arith.constant dense<[[[[10.0, 1.0], [20.0, 2.0], [30.0, 3.0], [40.0, 4.0]]]]> : tensor<1x1x4x2xf32>
  %mem = arith.constant dense<[[[0, 1], [2, -1]]]> : tensor<1x2x2xi32>
  %aq = arith.constant dense<[[[[7.0, 0.0], [7.0, 1.38629436], [100.0, 7.0], [0.0, 1.09861229]]]]> : tensor<1x1x4x2xf32>
  %ak = arith.constant dense<[[[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 1.60943791]]]]> : tensor<1x1x4x2xf32>
  %qd = tensor.cast %q : tensor<1x1x4x1xf32> to tensor<?x?x?x?xf32>
  %kd = tensor.cast %k : tensor<1x1x4x1xf32> to tensor<?x?x?x?xf32>
  %vd = tensor.cast %v : tensor<1x1x4x2xf32> to tensor<?x?x?x?xf32>
  %memd = tensor.cast %mem : tensor<1x2x2xi32> to tensor<?x?x?xi32>
  %aqd = tensor.cast %aq : tensor<1x1x4x2xf32> to tensor<?x?x?x?xf32>
  %akd = tensor.cast %ak : tensor<1x1x4x2xf32> to tensor<?x?x?x?xf32>
  %co = call @cast_attn(%qd, %kd, %vd, %memd, %aqd, %akd) : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xi32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  %cou = tensor.cast %co : tensor<?x?x?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%cou) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 1, 4, 2] strides = [8, 8, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}{{\[}}[20.833{{[0-9]*}},   2.0833{{[0-9]*}}],
  // CHECK-NEXT: [25,   2.5],
  // CHECK-NEXT: [27.5,   2.75],
  // CHECK-NEXT: [30.625,   3.0625]]]]
  return
}

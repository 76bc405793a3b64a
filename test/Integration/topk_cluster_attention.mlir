// RUN: clusopt-opt %s --clus-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// End to end: clus.topk_members in both modes with ties, and
// clus.cluster_attention with and without summaries. Worked out
// by hand and confirmed with python/clusopt/reference.py.

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
  // G[n, m] for 5 tokens and 2 clusters. Ties: column 0 has 0.5 at n = 1, 2;
  // column 1 has 0.8 at n = 2, 3; token 1 has 0.5 in both clusters.
  %g = arith.constant dense<[[[0.9, 0.1], [0.5, 0.5], [0.5, 0.8], [0.2, 0.8], [0.7, 0.3]]]> : tensor<1x5x2xf32>

  %t3_init = tensor.empty() : tensor<1x2x3xi32>
  // Top-K, κ = 3: column 0 by value: 0 (0.9), 4 (0.7), then 1 before 2 (tie);
  // column 1: 2 before 3 (tie at 0.8), then 1 (0.5). Token 1 is in both.
  %t3 = clus.topk_members %g capacity = 3 outs(%t3_init)
      : tensor<1x5x2xf32> -> tensor<1x2x3xi32>
  %t3d = tensor.cast %t3 : tensor<1x2x3xi32> to tensor<1x2x?xi32>
  call @print_members(%t3d) : (tensor<1x2x?xi32>) -> ()
  // CHECK:      Unranked Memref base@ = {{.*}} rank = 3 offset = 0 sizes = [1, 2, 3] strides = [6, 3, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[0,   4,   1],
  // CHECK-NEXT: [2,   3,   1]]]

  %t6_init = tensor.empty() : tensor<1x2x6xi32>
  // Top-K, κ = 6 > N = 5: all tokens in order, the last slot empty.
  %t6 = clus.topk_members %g capacity = 6 outs(%t6_init)
      : tensor<1x5x2xf32> -> tensor<1x2x6xi32>
  %t6d = tensor.cast %t6 : tensor<1x2x6xi32> to tensor<1x2x?xi32>
  call @print_members(%t6d) : (tensor<1x2x?xi32>) -> ()
  // CHECK:      sizes = [1, 2, 6]
  // CHECK-NEXT: {{\[}}{{\[}}[0,   4,   1,   2,   3,   -1],
  // CHECK-NEXT: [2,   3,   1,   4,   0,   -1]]]

  %x4_init = tensor.empty() : tensor<1x2x4xi32>
  // SA-Top-K: owners are argmax_m with ties to the lower m:
  // 0 -> 0, 1 -> 0 (tie), 2 -> 1, 3 -> 1, 4 -> 0.
  // κ = 4: cluster 0 keeps 0, 4, 1 by G[·, 0]; cluster 1 keeps 2, 3 (tie).
  %x4 = clus.topk_members %g capacity = 4 exclusive outs(%x4_init)
      : tensor<1x5x2xf32> -> tensor<1x2x4xi32>
  %x4d = tensor.cast %x4 : tensor<1x2x4xi32> to tensor<1x2x?xi32>
  call @print_members(%x4d) : (tensor<1x2x?xi32>) -> ()
  %x2_init = tensor.empty() : tensor<1x2x2xi32>
  // CHECK:      sizes = [1, 2, 4]
  // CHECK-NEXT: {{\[}}{{\[}}[0,   4,   1,   -1],
  // CHECK-NEXT: [2,   3,   -1,   -1]]]
  // κ = 2: token 1 is over capacity in cluster 0 and lands nowhere (it is
  // not moved to cluster 1).
  %x2 = clus.topk_members %g capacity = 2 exclusive outs(%x2_init)
      : tensor<1x5x2xf32> -> tensor<1x2x2xi32>
  %x2d = tensor.cast %x2 : tensor<1x2x2xi32> to tensor<1x2x?xi32>
  call @print_members(%x2d) : (tensor<1x2x?xi32>) -> ()
  // CHECK:      sizes = [1, 2, 2]
  // CHECK-NEXT: {{\[}}{{\[}}[0,   4],
  // CHECK-NEXT: [2,   3]]]

  // cluster_attention, B = H = 1, N = 4, D = 1 (default scale 1), Dv = 2 with
  // V[:, 1] = V[:, 0] / 10.
  //   Q = [0, 1, 20, 0], K = [0, ln3, 5, 0], V[:, 0] = [10, 20, 30, 40].
  //   members: cluster 0 = {0, 1}, cluster 1 = {2, -1 (empty)}; token 3 is
  //   in no cluster.
  //   Ak[:, 0] = 0 -> R[0] = mean V = 25; Ak[:, 1] = [0, 0, 0, ln5] ->
  //   R[1] = (10 + 20 + 30 + 5·40) / 8 = 32.5.
  //   Aq = [[7, 0], [7, ln4], [100, 7], [0, ln3]]; the entries of a token's
  //   own cluster (the 7s) must be ignored.
  // With summaries:
  //   token 0: intra [0, 0] over V 10, 20; inter e^0 over R[1]:
  //            (10 + 20 + 32.5) / 3 = 20.8333
  //   token 1: intra [0, ln3] -> weights 1, 3; inter e^{ln4} = 4 over R[1]:
  //            (10 + 3·20 + 4·32.5) / 8 = 25
  //   token 2: intra 20·5 = 100 over V 30, inter Aq = 100 over R[0] = 25;
  //            e^100 overflows f32, so this needs the max subtraction:
  //            (30 + 25) / 2 = 27.5
  //   token 3: no cluster: softmax([0, ln3]) = [1/4, 3/4] over R:
  //            25/4 + 3·32.5/4 = 30.625
  %q = arith.constant dense<[[[[0.0], [1.0], [20.0], [0.0]]]]> : tensor<1x1x4x1xf32>
  %k = arith.constant dense<[[[[0.0], [1.09861229], [5.0], [0.0]]]]> : tensor<1x1x4x1xf32>
  %v = arith.constant dense<[[[[10.0, 1.0], [20.0, 2.0], [30.0, 3.0], [40.0, 4.0]]]]> : tensor<1x1x4x2xf32>
  %mem = arith.constant dense<[[[0, 1], [2, -1]]]> : tensor<1x2x2xi32>
  %aq = arith.constant dense<[[[[7.0, 0.0], [7.0, 1.38629436], [100.0, 7.0], [0.0, 1.09861229]]]]> : tensor<1x1x4x2xf32>
  %ak = arith.constant dense<[[[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 1.60943791]]]]> : tensor<1x1x4x2xf32>
  %o_init = tensor.empty() : tensor<1x1x4x2xf32>
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>, tensor<1x1x4x2xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
      -> tensor<1x1x4x2xf32>
  call @print_out(%o) : (tensor<1x1x4x2xf32>) -> ()
  // CHECK:      sizes = [1, 1, 4, 2] strides = [8, 8, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}{{\[}}[20.833{{[0-9]*}},   2.0833{{[0-9]*}}],
  // CHECK-NEXT: [25,   2.5],
  // CHECK-NEXT: [27.5,   2.75],
  // CHECK-NEXT: [30.625,   3.0625]]]]

  %r_init = tensor.empty() : tensor<1x1x4x2xf32>
  // Without summaries (scale = 1 given explicitly): intra-cluster softmax
  // only, and 0 for the token in no cluster.
  //   token 0: (10 + 20) / 2 = 15; token 1: (10 + 3·20) / 4 = 17.5;
  //   token 2: alone in its cluster -> 30; token 3: 0.
  %r = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) scale = 1.000000e+00 summaries = false outs(%r_init)
      : tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>, tensor<1x1x4x2xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
      -> tensor<1x1x4x2xf32>
  call @print_out(%r) : (tensor<1x1x4x2xf32>) -> ()
  // CHECK:      sizes = [1, 1, 4, 2]
  // CHECK-NEXT: {{\[}}{{\[}}{{\[}}[15,   1.5],
  // CHECK-NEXT: [17.5,   1.75],
  // CHECK-NEXT: [30,   3],
  // CHECK-NEXT: [0,   0]]]]

  // Token 1 in two clusters: cluster 0 = {0, 1}, cluster 1 = {1}. O[1] is
  // the mean of o_0(1) and o_1(1); token 2 is now in no cluster.
  //   Without summaries: o_0(1) = 17.5, o_1(1) = V[1] = 20 -> 18.75;
  //   token 0: 15; tokens 2, 3: 0.
  //   With summaries: token 0 and o_0(1) as above (20.8333, 25);
  //   o_1(1) = (3·20 + e^7·25) / (3 + e^7) = 24.98636 -> O[1] = 24.99318;
  //   token 2: softmax([100, 7]) over R ≈ R[0] = 25; token 3: 30.625.
  %mem2 = arith.constant dense<[[[0, 1], [1, -1]]]> : tensor<1x2x2xi32>
  %r2_init = tensor.empty() : tensor<1x1x4x2xf32>
  %r2 = clus.cluster_attention %q, %k, %v members(%mem2) affinities(%aq, %ak) summaries = false outs(%r2_init)
      : tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>, tensor<1x1x4x2xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
      -> tensor<1x1x4x2xf32>
  call @print_out(%r2) : (tensor<1x1x4x2xf32>) -> ()
  %o2_init = tensor.empty() : tensor<1x1x4x2xf32>
  // CHECK:      sizes = [1, 1, 4, 2]
  // CHECK-NEXT: {{\[}}{{\[}}{{\[}}[15,   1.5],
  // CHECK-NEXT: [18.75,   1.875],
  // CHECK-NEXT: [0,   0],
  // CHECK-NEXT: [0,   0]]]]
  %o2 = clus.cluster_attention %q, %k, %v members(%mem2) affinities(%aq, %ak) outs(%o2_init)
      : tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>, tensor<1x1x4x2xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
      -> tensor<1x1x4x2xf32>
  call @print_out(%o2) : (tensor<1x1x4x2xf32>) -> ()
  // CHECK:      sizes = [1, 1, 4, 2]
  // CHECK-NEXT: {{\[}}{{\[}}{{\[}}[20.833{{[0-9]*}},   2.0833{{[0-9]*}}],
  // CHECK-NEXT: [24.993{{[0-9]*}},   2.4993{{[0-9]*}}],
  // CHECK-NEXT: [25,   2.5],
  // CHECK-NEXT: [30.625,   3.0625]]]]
  return
}

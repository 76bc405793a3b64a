// RUN: clusopt-opt %s --clus-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// End to end: clus.aggregate (sum, mean, weighted_mean) and
// clus.broadcast with out-of-range assignments (-1, 7, ±2^31),
// which must contribute nothing / produce zero rows and never fault.
// Values worked out by hand.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @print(%t: tensor<2x3x2xf32>) {
  %u = tensor.cast %t : tensor<2x3x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func @main() {
  // Batch 0: rows 0 and 2 go to cluster 0, row 1 to cluster 2, rows 3 (-1)
  // and 4 (7) are out of range. Cluster 1 is empty.
  // Batch 1: rows 0-2 go to cluster 1; 3 and -7 are out of range.
  %x = arith.constant dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]],
                             [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0], [5.0, 5.0]]]> : tensor<2x5x2xf32>
  %a = arith.constant dense<[[0, 2, 0, -1, 7], [1, 1, 1, 3, -7]]> : tensor<2x5xi32>
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 1.0, 2.0, 9.0, 9.0]]> : tensor<2x5xf32>

  %sum_init = tensor.empty() : tensor<2x3x2xf32>
  // sum: b0 = [[1+5, 2+6], 0, [3, 4]]; b1 = [0, [6, 6], 0].
  %sum = clus.aggregate %x, %a clusters = 3 outs(%sum_init)
      : tensor<2x5x2xf32>, tensor<2x5xi32> -> tensor<2x3x2xf32>
  call @print(%sum) : (tensor<2x3x2xf32>) -> ()
  // CHECK:      Unranked Memref base@ = {{.*}} rank = 3 offset = 0 sizes = [2, 3, 2] strides = [6, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[6,   8],
  // CHECK-NEXT: [0,   0],
  // CHECK-NEXT: [3,   4]],
  // CHECK-NEXT: {{\[}}[0,   0],
  // CHECK-NEXT: [6,   6],
  // CHECK-NEXT: [0,   0]]]

  %mean_init = tensor.empty() : tensor<2x3x2xf32>
  // mean: sums / max(count, 1): b0 = [[3, 4], 0, [3, 4]]; b1 = [0, [2, 2], 0].
  %mean = clus.aggregate %x, %a clusters = 3 reduction = mean outs(%mean_init)
      : tensor<2x5x2xf32>, tensor<2x5xi32> -> tensor<2x3x2xf32>
  call @print(%mean) : (tensor<2x3x2xf32>) -> ()
  // CHECK:      sizes = [2, 3, 2]
  // CHECK-NEXT: {{\[}}{{\[}}[3,   4],
  // CHECK-NEXT: [0,   0],
  // CHECK-NEXT: [3,   4]],
  // CHECK-NEXT: {{\[}}[0,   0],
  // CHECK-NEXT: [2,   2],
  // CHECK-NEXT: [0,   0]]]

  %wm_init = tensor.empty() : tensor<2x3x2xf32>
  // weighted_mean with eps = 0.5: Σ w x / (Σ w + eps), weights of
  // out-of-range rows ignored in both sums.
  //  b0 m0: (1·[1,2] + 3·[5,6]) / (4 + 0.5) = [16, 20] / 4.5 = [3.55556, 4.44444]
  //  b0 m1: 0 / 0.5 = 0
  //  b0 m2: 2·[3,4] / (2 + 0.5) = [2.4, 3.2]
  //  b1 m1: (1·[1,1] + 1·[2,2] + 2·[3,3]) / (4 + 0.5) = [2, 2]
  %wm = clus.aggregate %x, %a weights(%w : tensor<2x5xf32>) clusters = 3 reduction = weighted_mean eps = 5.000000e-01 outs(%wm_init)
      : tensor<2x5x2xf32>, tensor<2x5xi32> -> tensor<2x3x2xf32>
  call @print(%wm) : (tensor<2x3x2xf32>) -> ()
  // CHECK:      sizes = [2, 3, 2]
  // CHECK-NEXT: {{\[}}{{\[}}[3.5555{{[0-9]*}},   4.4444{{[0-9]*}}],
  // CHECK-NEXT: [0,   0],
  // CHECK-NEXT: [2.4,   3.2]],
  // CHECK-NEXT: {{\[}}[0,   0],
  // CHECK-NEXT: [2,   2],
  // CHECK-NEXT: [0,   0]]]

  // broadcast: X[n] = Y[assign[n]], a zero row where assign[n] ∉ [0, 3).
  %y = arith.constant dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
                             [[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]]]> : tensor<2x3x2xf32>
  %ba = arith.constant dense<[[2, -1, 0, 3, 1], [7, 0, -2147483648, 2, 2147483647]]> : tensor<2x5xi32>
  %b_init = tensor.empty() : tensor<2x5x2xf32>
  %b = clus.broadcast %y, %ba outs(%b_init)
      : tensor<2x3x2xf32>, tensor<2x5xi32> -> tensor<2x5x2xf32>
  %bu = tensor.cast %b : tensor<2x5x2xf32> to tensor<*xf32>
  call @printMemrefF32(%bu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [2, 5, 2] strides = [10, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[5,   6],
  // CHECK-NEXT: [0,   0],
  // CHECK-NEXT: [1,   2],
  // CHECK-NEXT: [0,   0],
  // CHECK-NEXT: [3,   4]],
  // CHECK-NEXT: {{\[}}[0,   0],
  // CHECK-NEXT: [10,   20],
  // CHECK-NEXT: [0,   0],
  // CHECK-NEXT: [50,   60],
  // CHECK-NEXT: [0,   0]]]

  // f16 broadcast of batch 0's means back to its tokens (ClusTR
  // merge/unmerge): assign [0, 2, 0, -1, 7] gives rows Y[0], Y[2], Y[0], 0, 0
  // = [3, 4], [3, 4], [3, 4], 0, 0.
  %mean16 = arith.constant dense<[[[3.0, 4.0], [0.0, 0.0], [3.0, 4.0]]]> : tensor<1x3x2xf16>
  %a16 = arith.constant dense<[[0, 2, 0, -1, 7]]> : tensor<1x5xi32>
  %b16_init = tensor.empty() : tensor<1x5x2xf16>
  %b16 = clus.broadcast %mean16, %a16 outs(%b16_init)
      : tensor<1x3x2xf16>, tensor<1x5xi32> -> tensor<1x5x2xf16>
  %e = tensor.empty() : tensor<1x5x2xf32>
  %b32 = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (i, j, k)>],
                         iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%b16 : tensor<1x5x2xf16>) outs(%e : tensor<1x5x2xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<1x5x2xf32>
  %b32u = tensor.cast %b32 : tensor<1x5x2xf32> to tensor<*xf32>
  call @printMemrefF32(%b32u) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 5, 2]
  // CHECK-NEXT: {{\[}}{{\[}}[3,   4],
  // CHECK-NEXT: [3,   4],
  // CHECK-NEXT: [3,   4],
  // CHECK-NEXT: [0,   0],
  // CHECK-NEXT: [0,   0]]]
  return
}

// RUN: clusopt-opt %s --clus-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// End to end: clus.soft_assign (both axes) and clus.pool, in f32 and f16,
// through --clus-to-llvm and the JIT. Expected values are the ops'
// definitions computed by hand (exact binary fractions) or, where irrational,
// with the float64 oracle python/clusopt/reference.py and checked to 5
// significant digits.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @print3(%t: tensor<1x2x4xf32>) {
  %u = tensor.cast %t : tensor<1x2x4xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func @main() {
  // soft_assign, axis = tokens. Row 0 is constant: uniform 1/4. Row 1 is
  // softmax([1, 2, 3, 4]) = [0.0320586, 0.0871443, 0.236883, 0.643914].
  %l = arith.constant dense<[[[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]]]> : tensor<1x2x4xf32>
  %z_init = tensor.empty() : tensor<1x2x4xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x2x4xf32>
  call @print3(%z) : (tensor<1x2x4xf32>) -> ()
  // CHECK:      Unranked Memref base@ = {{.*}} rank = 3 offset = 0 sizes = [1, 2, 4] strides = [8, 4, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[0.25,   0.25,   0.25,   0.25],
  // CHECK-NEXT: [0.03205{{[0-9]*}},   0.08714{{[0-9]*}},   0.23688{{[0-9]*}},   0.64391{{[0-9]*}}]]]

  // pool of those assignments: Y = Z · X.
  //   Y[0] = 1/4 · ([1,0] + [0,1] + [1,1] + [2,-1]) = [1, 0.25]
  //   Y[1] = [z0 + z2 + 2 z3, z1 + z2 - z3] = [1.55677, -0.319887]
  %x = arith.constant dense<[[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]]]> : tensor<1x4x2xf32>
  %y_init = tensor.empty() : tensor<1x2x2xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<1x2x4xf32>, tensor<1x4x2xf32> -> tensor<1x2x2xf32>
  %yu = tensor.cast %y : tensor<1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2, 2] strides = [4, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[1,   0.25],
  // CHECK-NEXT: [1.5567{{[0-9]*}},   -0.31988{{[0-9]*}}]]]

  // Large logits: the max is subtracted first, so exp never overflows.
  // softmax([1000, 1000, 0, -1000]) = [0.5, 0.5, 0, 0];
  // softmax([-1000, -1000, -1000, -1000]) = uniform.
  %big = arith.constant dense<[[[1000.0, 1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0, -1000.0]]]> : tensor<1x2x4xf32>
  %zb_init = tensor.empty() : tensor<1x2x4xf32>
  %zb = clus.soft_assign %big outs(%zb_init) : tensor<1x2x4xf32>
  call @print3(%zb) : (tensor<1x2x4xf32>) -> ()
  // CHECK:      sizes = [1, 2, 4]
  // CHECK-NEXT: {{\[}}{{\[}}[0.5,   0.5,   0,   0],
  // CHECK-NEXT: [0.25,   0.25,   0.25,   0.25]]]

  // soft_assign, axis = clusters: each column is a distribution over the two
  // clusters. Columns: [0,0] -> 1/2 each; [1,0] -> [0.731059, 0.268941];
  // [5,-5] -> [0.999955, 4.53979e-05]; [2,2] -> 1/2 each.
  %lc = arith.constant dense<[[[0.0, 1.0, 5.0, 2.0], [0.0, 0.0, -5.0, 2.0]]]> : tensor<1x2x4xf32>
  %zc_init = tensor.empty() : tensor<1x2x4xf32>
  %zc = clus.soft_assign %lc axis = clusters outs(%zc_init) : tensor<1x2x4xf32>
  call @print3(%zc) : (tensor<1x2x4xf32>) -> ()
  // CHECK:      sizes = [1, 2, 4]
  // CHECK-NEXT: {{\[}}{{\[}}[0.5,   0.73105{{[0-9]*}},   0.99995{{[0-9]*}},   0.5],
  // CHECK-NEXT: [0.5,   0.26894{{[0-9]*}},   4.5397{{[0-9]*}}e-05,   0.5]]]

  // f16 pool with f32 accumulation: Y = Z · X with two batch items.
  //   b0: [0.5, 0.5, 0] · X0 = [2, 3];  [0, 0.25, 0.75] · X0 = [4.5, 5.5]
  //   b1: [1, 0, 0] · X1 = [-1, 0.5];    [0.25, 0.25, 0.5] · X1 = [1.75, 3.125]
  %z16 = arith.constant dense<[[[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]],
                               [[1.0, 0.0, 0.0], [0.25, 0.25, 0.5]]]> : tensor<2x2x3xf16>
  %x16 = arith.constant dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
                               [[-1.0, 0.5], [3.0, 2.0], [2.5, 5.0]]]> : tensor<2x3x2xf16>
  %y16_init = tensor.empty() : tensor<2x2x2xf16>
  %y16 = clus.pool %z16, %x16 outs(%y16_init)
      : tensor<2x2x3xf16>, tensor<2x3x2xf16> -> tensor<2x2x2xf16>
  %e = tensor.empty() : tensor<2x2x2xf32>
  %y32 = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>],
                         iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y16 : tensor<2x2x2xf16>) outs(%e : tensor<2x2x2xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    linalg.yield %w : f32
  } -> tensor<2x2x2xf32>
  %y32u = tensor.cast %y32 : tensor<2x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%y32u) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [2, 2, 2] strides = [4, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[2,   3],
  // CHECK-NEXT: [4.5,   5.5]],
  // CHECK-NEXT: {{\[}}[-1,   0.5],
  // CHECK-NEXT: [1.75,   3.125]]]
  return
}

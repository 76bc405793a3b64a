// RUN: clusopt-opt %s --clus-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// End to end: clus.attention, O = Σ_s softmax_m(scale·Q·K_sᵀ)·V_s,
// with two key/value scales summed (not a joint softmax), with the default
// scale 1/sqrt(D) over two heads, and in bf16. Values worked out by hand.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  // Two scales, scale = ln 3.
  //  Scale 1: K1 = I, so query [1,0] scores [ln3, 0] -> weights [3/4, 1/4]
  //  over V1 = [[10,0],[0,10]] -> [7.5, 2.5]; query [0,1] -> [2.5, 7.5].
  //  Scale 2: K2 = 0, so the weights are uniform over 3 rows of V2 ->
  //  mean = [3, 4] for both queries.
  //  O = [[10.5, 6.5], [5.5, 11.5]]. A joint softmax over all five keys
  //  would give [5.57143, 3.14286] for query 0.
  %q = arith.constant dense<[[[[1.0, 0.0], [0.0, 1.0]]]]> : tensor<1x1x2x2xf32>
  %k1 = arith.constant dense<[[[[1.0, 0.0], [0.0, 1.0]]]]> : tensor<1x1x2x2xf32>
  %v1 = arith.constant dense<[[[[10.0, 0.0], [0.0, 10.0]]]]> : tensor<1x1x2x2xf32>
  %k2 = arith.constant dense<0.0> : tensor<1x1x3x2xf32>
  %v2 = arith.constant dense<[[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]]]> : tensor<1x1x3x2xf32>
  %o_init = tensor.empty() : tensor<1x1x2x2xf32>
  %o = clus.attention %q, [%k1, %v1], [%k2, %v2] scale = 1.09861229 outs(%o_init)
      : tensor<1x1x2x2xf32>, [tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>], [tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>]
      -> tensor<1x1x2x2xf32>
  %ou = tensor.cast %o : tensor<1x1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%ou) : (tensor<*xf32>) -> ()
  // CHECK:      Unranked Memref base@ = {{.*}} rank = 4 offset = 0 sizes = [1, 1, 2, 2] strides = [4, 4, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}{{\[}}[10.5,   6.5],
  // CHECK-NEXT: [5.5,   11.5]]]]

  // Default scale 1/sqrt(4) = 1/2, two heads, one query, Dv = 1.
  //  Head 0: Q = [2 ln3, 0, 0, 0], K = [e0, 0] -> scores [ln3, 0] ->
  //          weights [3/4, 1/4] over V = [4, 8] -> 5.
  //  Head 1: Q = [0, 0, 0, 2], K = [e3, -e3] -> scores [1, -1] ->
  //          weights [0.880797, 0.119203] over V = [1, 0] -> 0.880797.
  %qh = arith.constant dense<[[[[2.19722458, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 2.0]]]]> : tensor<1x2x1x4xf32>
  %kh = arith.constant dense<[[[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
                               [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, -1.0]]]]> : tensor<1x2x2x4xf32>
  %vh = arith.constant dense<[[[[4.0], [8.0]], [[1.0], [0.0]]]]> : tensor<1x2x2x1xf32>
  %oh_init = tensor.empty() : tensor<1x2x1x1xf32>
  %oh = clus.attention %qh, [%kh, %vh] outs(%oh_init)
      : tensor<1x2x1x4xf32>, [tensor<1x2x2x4xf32>, tensor<1x2x2x1xf32>]
      -> tensor<1x2x1x1xf32>
  %ohu = tensor.cast %oh : tensor<1x2x1x1xf32> to tensor<*xf32>
  call @printMemrefF32(%ohu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2, 1, 1] strides = [2, 1, 1, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}{{\[}}[5]],
  // CHECK-NEXT: {{\[}}[0.88079{{[0-9]*}}]]]]

  // bf16 storage, default scale 1/sqrt(2), K = [[1, 0], [-1, 0]]:
  //  query [200, 0] scores ±141.4: exp(141.4) overflows f32, so only the
  //  max-subtracted softmax gives weights [1, 0] -> V row 0 = [1, 2];
  //  query [0, 7] scores [0, 0] -> uniform -> mean of V = [2, 3].
  %qb = arith.constant dense<[[[[200.0, 0.0], [0.0, 7.0]]]]> : tensor<1x1x2x2xbf16>
  %kb = arith.constant dense<[[[[1.0, 0.0], [-1.0, 0.0]]]]> : tensor<1x1x2x2xbf16>
  %vb = arith.constant dense<[[[[1.0, 2.0], [3.0, 4.0]]]]> : tensor<1x1x2x2xbf16>
  %ob_init = tensor.empty() : tensor<1x1x2x2xbf16>
  %ob = clus.attention %qb, [%kb, %vb] outs(%ob_init)
      : tensor<1x1x2x2xbf16>, [tensor<1x1x2x2xbf16>, tensor<1x1x2x2xbf16>]
      -> tensor<1x1x2x2xbf16>
  %e = tensor.empty() : tensor<1x1x2x2xf32>
  %ob32 = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%ob : tensor<1x1x2x2xbf16>) outs(%e : tensor<1x1x2x2xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %w = arith.extf %in : bf16 to f32
    linalg.yield %w : f32
  } -> tensor<1x1x2x2xf32>
  %obu = tensor.cast %ob32 : tensor<1x1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%obu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 1, 2, 2]
  // CHECK-NEXT: {{\[}}{{\[}}{{\[}}[1,   2],
  // CHECK-NEXT: [2,   3]]]]
  return
}

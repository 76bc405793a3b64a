// RUN: clusopt-opt %s --clus-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// End to end: clus.dpc_knn and clus.kmeans on tiny
// 2-D point sets with obvious answers. Worked out by hand and confirmed with
// python/clusopt/reference.py.

func.func private @printMemrefF32(tensor<*xf32>)
func.func private @printMemrefI32(tensor<*xi32>)

func.func @main() {
  // dpc_knn, k = 2, scales [2, 3], C = 2 so D = ‖x_i − x_j‖ / sqrt(2).
  //
  // Batch 0: two blobs A = (0,0), (0,1), (1,0) and B = (10,10), (10,11),
  // (11,10). Every token's nearest other token is at D = 1/sqrt(2), so all
  // six ρ are equal (exp(-1/4)) and "denser" falls back to the lower index:
  //   token 0 is the densest: δ = max D = sqrt(221/2) = 10.51;
  //   token 3: δ = min D to tokens 0..2 = sqrt(181/2) = 9.51;
  //   tokens 1, 2, 4, 5: δ = 1/sqrt(2).
  // Scores rank 0, 3, then 1 (lowest of the four tied). Centres:
  //   scale 0: [0, 3, -1]; scale 1: [0, 3, 1].
  // Assignments: scale 0 splits the blobs; at scale 1 token 1 is forced into
  // cluster 2 while token 2 (D = 0.71 to token 0, 1.0 to token 1) stays in 0.
  //
  // Batch 1: an outlier (8,8), a tight blob (0,0), (0,0.25), (0.25,0), and a
  // loose pair (3,3), (3,3.5). The blob's ρ are equal and highest, so token 1
  // is the densest (δ = max D = 8); token 4 (δ = D to the blob = 2.88) comes
  // next, then token 5 (ρ·δ = 0.33); the outlier has ρ ≈ 1.2e-5.
  //   Centres: scale 0: [1, 4, -1]; scale 1: [1, 4, 5].
  //   Scale 0: the outlier is nearest to (3,3) -> 1. Scale 1: it is nearest
  //   to (3,3.5) -> 2.
  %x = arith.constant dense<[[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]],
                             [[8.0, 8.0], [0.0, 0.0], [0.0, 0.25], [0.25, 0.0], [3.0, 3.0], [3.0, 3.5]]]> : tensor<2x6x2xf32>
  %assign_init = tensor.empty() : tensor<2x2x6xi32>
  %centers_init = tensor.empty() : tensor<2x2x3xi32>
  %assign, %centers = clus.dpc_knn %x clusters = [2, 3] k = 2 outs(%assign_init, %centers_init)
      : tensor<2x6x2xf32> -> tensor<2x2x6xi32>, tensor<2x2x3xi32>
  %au = tensor.cast %assign : tensor<2x2x6xi32> to tensor<*xi32>
  call @printMemrefI32(%au) : (tensor<*xi32>) -> ()
  // CHECK:      Unranked Memref base@ = {{.*}} rank = 3 offset = 0 sizes = [2, 2, 6] strides = [12, 6, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[0,   0,   0,   1,   1,   1],
  // CHECK-NEXT: [0,   2,   0,   1,   1,   1]],
  // CHECK-NEXT: {{\[}}[1,   0,   0,   0,   1,   1],
  // CHECK-NEXT: [2,   0,   0,   0,   1,   2]]]
  %cu = tensor.cast %centers : tensor<2x2x3xi32> to tensor<*xi32>
  call @printMemrefI32(%cu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [2, 2, 3] strides = [6, 3, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[0,   3,   -1],
  // CHECK-NEXT: [0,   3,   1]],
  // CHECK-NEXT: {{\[}}[1,   4,   -1],
  // CHECK-NEXT: [1,   4,   5]]]

  // kmeans, l2, no init, 3 iterations on batch 0's blobs. μ⁰ = rows
  // floor(m·6/2) = rows 0 and 3 = (0,0) and (10,10); every iteration assigns
  // A -> 0 and B -> 1, so μ = the blob means (1/3, 1/3) and (31/3, 31/3).
  %xb = arith.constant dense<[[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]]]> : tensor<1x6x2xf32>
  %ka_init = tensor.empty() : tensor<1x6xi32>
  %kc_init = tensor.empty() : tensor<1x2x2xf32>
  %ka, %kc = clus.kmeans %xb clusters = 2 iterations = 3 outs(%ka_init, %kc_init)
      : tensor<1x6x2xf32> -> tensor<1x6xi32>, tensor<1x2x2xf32>
  %kau = tensor.cast %ka : tensor<1x6xi32> to tensor<*xi32>
  call @printMemrefI32(%kau) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 6] strides = [6, 1] data =
  // CHECK-NEXT: {{\[}}[0,   0,   0,   1,   1,   1]]
  %kcu = tensor.cast %kc : tensor<1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%kcu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2, 2] strides = [4, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[0.333333,   0.333333],
  // CHECK-NEXT: [10.3333,   10.3333]]]

  // kmeans, cosine, with init [[1,1],[0,1]], 2 iterations, on (1,0), (3,0),
  // (0,2), (0,5). Directions decide: the x-axis points go to cluster 0
  // (1 - 1/sqrt2 < 1), the y-axis points to cluster 1. Centroids average the
  // NORMALISED rows: (1,0) and (0,1), not the raw means (2,0) and (0,3.5).
  %xc = arith.constant dense<[[[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 5.0]]]> : tensor<1x4x2xf32>
  %mu = arith.constant dense<[[[1.0, 1.0], [0.0, 1.0]]]> : tensor<1x2x2xf32>
  %ca_init = tensor.empty() : tensor<1x4xi32>
  %cc_init = tensor.empty() : tensor<1x2x2xf32>
  %ca, %cc = clus.kmeans %xc init(%mu : tensor<1x2x2xf32>) clusters = 2 iterations = 2 metric = cosine outs(%ca_init, %cc_init)
      : tensor<1x4x2xf32> -> tensor<1x4xi32>, tensor<1x2x2xf32>
  %cau = tensor.cast %ca : tensor<1x4xi32> to tensor<*xi32>
  call @printMemrefI32(%cau) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 4] strides = [4, 1] data =
  // CHECK-NEXT: {{\[}}[0,   0,   1,   1]]
  %ccu = tensor.cast %cc : tensor<1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%ccu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2, 2] strides = [4, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[1,   0],
  // CHECK-NEXT: [0,   1]]]
  return
}

// RUN: clusopt-opt %s --clus-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// Regression: a function returning a buffer yielded by an scf.for (kmeans'
// assignment, carried across the Lloyd iterations) gets a bufferization.clone
// from buffer-deallocation-pipeline, which --clus-to-llvm must lower too.

// Two obvious blobs (see dpc_knn_kmeans.mlir): assignment [0, 0, 0, 1, 1, 1]
// and centroids (1/3, 1/3), (31/3, 31/3).

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
  // CHECK:      sizes = [1, 6] strides = [6, 1] data =
  // CHECK-NEXT: {{\[}}[0,   0,   0,   1,   1,   1]]
  %cu = tensor.cast %c : tensor<1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%cu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2, 2] strides = [4, 2, 1] data =
  // CHECK-NEXT: {{\[}}{{\[}}[0.333333,   0.333333],
  // CHECK-NEXT: [10.3333,   10.3333]]]
  return
}

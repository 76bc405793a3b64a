// RUN: clusopt-opt %s --clus-to-llvm | FileCheck %s

// The pipeline ends in the LLVM dialect only, with a C wrapper per function,
// also for a function returning a buffer yielded by a loop (kmeans).

// CHECK-NOT: clus.
// CHECK-NOT: linalg.
// CHECK-NOT: bufferization.
// CHECK-NOT: memref.
// CHECK-NOT: scf.
// CHECK-LABEL: llvm.func @kmeans(
// CHECK: llvm.func @_mlir_ciface_kmeans(
// CHECK-LABEL: llvm.func @pool_bf16(
// CHECK-NOT: bf16 to f32
// CHECK: llvm.func @_mlir_ciface_pool_bf16(
// CHECK-NOT: clus.
// CHECK-NOT: bufferization.
func.func @kmeans(%x: tensor<1x6x2xf32>) -> tensor<1x6xi32> {
  %a, %c = clus.kmeans %x clusters = 2 iterations = 3 : tensor<1x6x2xf32>
  return %a : tensor<1x6xi32>
}

func.func @pool_bf16(%z: tensor<?x4x?xbf16>, %x: tensor<?x?x8xbf16>) -> tensor<?x4x8xbf16> {
  %y = clus.pool %z, %x : tensor<?x4x?xbf16>, tensor<?x?x8xbf16>
  return %y : tensor<?x4x8xbf16>
}

// RUN: clusopt-opt %s --clus-strided-copies-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --split-input-file --clus-cpu-to-llvm | FileCheck %s --check-prefix=LLVM --implicit-check-not=memrefCopy
// RUN: clusopt-opt %s --split-input-file --clus-to-llvm | FileCheck %s --check-prefix=LLVM --implicit-check-not=memrefCopy

// A copy into a strided view (the interior of a padded buffer, as
// bufferizing tensor.pad writes it) becomes linalg.copy: lowered by
// finalize-memref-to-llvm it would call memrefCopy, a runtime function
// no kernel library links. The pipelines then emit no such call.

// CHECK-LABEL: func.func @into_subview
// CHECK-SAME:    (%[[SRC:.+]]: memref<2x3xf32>, %[[DST:.+]]: memref<4x5xf32>)
// CHECK:         %[[VIEW:.+]] = memref.subview %[[DST]][1, 1] [2, 3] [1, 1]
// CHECK-NOT:     memref.copy
// CHECK:         linalg.copy ins(%[[SRC]] : memref<2x3xf32>) outs(%[[VIEW]] : memref<2x3xf32, strided<[5, 1], offset: 6>>)
// LLVM-LABEL:  llvm.func @into_subview
func.func @into_subview(%src: memref<2x3xf32>, %dst: memref<4x5xf32>) {
  %view = memref.subview %dst[1, 1] [2, 3] [1, 1]
      : memref<4x5xf32> to memref<2x3xf32, strided<[5, 1], offset: 6>>
  memref.copy %src, %view
      : memref<2x3xf32> to memref<2x3xf32, strided<[5, 1], offset: 6>>
  return
}

// -----

// Contiguous copies stay memref.copy: they lower to an LLVM memcpy.

// CHECK-LABEL: func.func @contiguous
// CHECK:         memref.copy %{{.+}}, %{{.+}} : memref<?x8xf32> to memref<?x8xf32>
// CHECK-NOT:     linalg.copy
// LLVM-LABEL:  llvm.func @contiguous
// LLVM:          "llvm.intr.memcpy"
func.func @contiguous(%src: memref<?x8xf32>, %dst: memref<?x8xf32>) {
  memref.copy %src, %dst : memref<?x8xf32> to memref<?x8xf32>
  return
}

// -----

// A zero-padded tensor (tensor.pad, as torch-mlir pads a convolution's
// input) compiles without a memrefCopy call on both CPU pipelines.

// LLVM-LABEL:  llvm.func @pad
func.func @pad(%x: tensor<?x4x4x8xf32>) -> tensor<?x6x6x8xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<?x4x4x8xf32> to tensor<?x6x6x8xf32>
  return %p : tensor<?x6x6x8xf32>
}

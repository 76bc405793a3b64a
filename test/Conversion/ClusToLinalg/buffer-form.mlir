// RUN: clusopt-opt %s --convert-clus-to-linalg -split-input-file -verify-diagnostics | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-vector -split-input-file -verify-diagnostics

// The lowerings run on tensors, before bufferization: an op in the buffer
// form (memref operands, as one-shot bufferization leaves it) is rejected
// with a diagnostic, never lowered wrongly.

func.func @pool_buffers(%z: memref<2x4x8xf32>, %x: memref<2x8x16xf32>,
                        %y: memref<2x4x16xf32>) {
  // expected-error-re @+1 {{'clus.pool' op is in the buffer form, which 'convert-clus-to-{{linalg|vector}}' does not lower: lower clus ops on tensors, before bufferization}}
  clus.pool %z, %x outs(%y)
      : memref<2x4x8xf32>, memref<2x8x16xf32> -> memref<2x4x16xf32>
  return
}

// -----

// Ops on tensors are lowered as before.
// CHECK-LABEL: func.func @pool_tensors
// CHECK-NOT:     clus.pool
// CHECK:         linalg.
func.func @pool_tensors(%z: tensor<2x4x8xf32>, %x: tensor<2x8x16xf32>,
                        %y: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %r = clus.pool %z, %x outs(%y)
      : tensor<2x4x8xf32>, tensor<2x8x16xf32> -> tensor<2x4x16xf32>
  return %r : tensor<2x4x16xf32>
}

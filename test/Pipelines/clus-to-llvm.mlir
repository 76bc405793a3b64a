// RUN: clusopt-opt %s --clus-to-llvm -o %t
// RUN: FileCheck %s < %t
// RUN: FileCheck %s --check-prefix=NOLEFT < %t

// The pipeline ends in the LLVM dialect only, with a C wrapper per function,
// also for a function returning a buffer yielded by a loop (kmeans). The
// NOLEFT -NOT lines come before its only positive check, the module's
// closing brace (the one line starting with `}`), so they scan the whole
// output.

// NOLEFT-NOT: {{ clus\.}}
// NOLEFT-NOT: {{ linalg\.}}
// NOLEFT-NOT: {{ bufferization\.}}
// NOLEFT-NOT: {{ memref\.}}
// NOLEFT-NOT: {{ scf\.}}
// NOLEFT:     {{^}}}
// CHECK-LABEL: llvm.func @kmeans(
// CHECK: llvm.func @_mlir_ciface_kmeans(
// CHECK-LABEL: llvm.func @pool_bf16(
// CHECK-NOT: bf16 to f32
// CHECK: llvm.func @_mlir_ciface_pool_bf16(
func.func @kmeans(%x: tensor<1x6x2xf32>) -> tensor<1x6xi32> {
  %a_init = tensor.empty() : tensor<1x6xi32>
  %c_init = tensor.empty() : tensor<1x2x2xf32>
  %a, %c = clus.kmeans %x clusters = 2 iterations = 3 outs(%a_init, %c_init)
      : tensor<1x6x2xf32> -> tensor<1x6xi32>, tensor<1x2x2xf32>
  return %a : tensor<1x6xi32>
}

func.func @pool_bf16(%z: tensor<?x4x?xbf16>, %x: tensor<?x?x8xbf16>) -> tensor<?x4x8xbf16> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %z, %y_init_c0 : tensor<?x4x?xbf16>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x4x8xbf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x4x?xbf16>, tensor<?x?x8xbf16> -> tensor<?x4x8xbf16>
  return %y : tensor<?x4x8xbf16>
}

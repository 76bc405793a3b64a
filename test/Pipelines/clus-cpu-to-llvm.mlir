// RUN: clusopt-opt %s --clus-cpu-to-llvm="vector-width=16" -o %t
// RUN: FileCheck %s < %t
// RUN: FileCheck %s --check-prefix=NOLEFT < %t

// The optimised pipeline ends in the LLVM dialect plus OpenMP: the kernels'
// parallel loops are omp.parallel/omp.wsloop, per-iteration scratch is freed
// with stack save/restore, exp is a polynomial (no expf call), and every
// function has a C wrapper. Every clus op, kmeans included, has a vector
// kernel. The NOLEFT -NOT lines come before its only positive check, the
// module's closing brace (the one line starting with `}`), so they scan the
// whole output (for ops: a dialect prefix after a blank, so LLVM
// intrinsics such as llvm.intr.vector.* pass).

// NOLEFT-NOT: {{ clus\.}}
// NOLEFT-NOT: {{ bufferization\.}}
// NOLEFT-NOT: {{ memref\.}}
// NOLEFT-NOT: {{ scf\.}}
// NOLEFT-NOT: {{ vector\.}}
// NOLEFT-NOT: @expf
// NOLEFT-NOT: llvm.intr.exp
// NOLEFT:     {{^}}}
// Each parallel loop nest is an internal function of its own, right after
// the entry point that calls it (LLVM inlines it back).
// CHECK-LABEL: llvm.func @paca(
// CHECK:       llvm.call @paca_par0(
// CHECK-LABEL: llvm.func @_mlir_ciface_paca(
// CHECK-LABEL: llvm.func internal @paca_par0(
// CHECK:       omp.parallel
// CHECK:       omp.wsloop
// CHECK:       llvm.intr.stacksave
// CHECK:       llvm.intr.fmuladd({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK:       llvm.intr.stackrestore
// CHECK-LABEL: llvm.func @kmeans(
// CHECK-LABEL: llvm.func @_mlir_ciface_kmeans(
func.func @paca(%l: tensor<?x100x?xf32>, %x: tensor<?x?x96xf32>, %q: tensor<?x2x?x48xf32>, %k: tensor<?x2x100x48xf32>) -> (tensor<?x100x96xf32>, tensor<?x2x?x48xf32>) {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x100x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %l, %z_init_c2 : tensor<?x100x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x100x?xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<?x100x?xf32>
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %l, %y_init_c0 : tensor<?x100x?xf32>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x100x96xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x100x?xf32>, tensor<?x?x96xf32> -> tensor<?x100x96xf32>
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x2x?x48xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x2x?x48xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x2x?x48xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init)
      : tensor<?x2x?x48xf32>, [tensor<?x2x100x48xf32>, tensor<?x2x100x48xf32>]
      -> tensor<?x2x?x48xf32>
  return %y, %o : tensor<?x100x96xf32>, tensor<?x2x?x48xf32>
}

func.func @kmeans(%x: tensor<1x6x2xf32>) -> tensor<1x6xi32> {
  %a_init = tensor.empty() : tensor<1x6xi32>
  %c_init = tensor.empty() : tensor<1x2x2xf32>
  %a, %c = clus.kmeans %x clusters = 2 iterations = 3 outs(%a_init, %c_init)
      : tensor<1x6x2xf32> -> tensor<1x6xi32>, tensor<1x2x2xf32>
  return %a : tensor<1x6xi32>
}

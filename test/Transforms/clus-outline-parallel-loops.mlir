// RUN: clusopt-opt %s --split-input-file --clus-outline-parallel-loops | FileCheck %s
// RUN: clusopt-opt %s --split-input-file --clus-outline-parallel-loops --convert-scf-to-openmp --convert-scf-to-cf --convert-openmp-to-llvm --convert-func-to-llvm --finalize-memref-to-llvm --convert-arith-to-llvm --convert-cf-to-llvm --reconcile-unrealized-casts | mlir-translate --split-input-file --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM

// Each outermost scf.parallel moves into a private function of its own,
// placed after its function and called where the loop was. Used values
// become arguments, constants are cloned in, a nested loop goes with its
// outer one, and a loop inside another op (scf.for) is outlined from there.

// CHECK-LABEL: func.func @two_loops
// CHECK-SAME:    (%[[A2:.+]]: memref<64xf32>, %[[B2:.+]]: memref<8x8xf32>, %[[S2:.+]]: f32)
// CHECK-NOT:     scf.parallel
// CHECK:         call @two_loops_par0(%[[S2]], %[[A2]]) : (f32, memref<64xf32>) -> ()
// CHECK-NOT:     scf.parallel
// CHECK:         call @two_loops_par1(%[[B2]]) : (memref<8x8xf32>) -> ()
// CHECK:         return
// CHECK-LABEL: func.func private @two_loops_par0
// CHECK-SAME:    (%[[S:.+]]: f32, %[[A:.+]]: memref<64xf32>)
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C64:.+]] = arith.constant 64 : index
// CHECK-DAG:     %[[C1:.+]] = arith.constant 1 : index
// CHECK:         scf.parallel (%[[I:.+]]) = (%[[C0]]) to (%[[C64]]) step (%[[C1]])
// CHECK:           memref.store %[[S]], %[[A]][%[[I]]]
// CHECK:         return
// CHECK-LABEL: func.func private @two_loops_par1
// CHECK-SAME:    (%{{.+}}: memref<8x8xf32>)
// CHECK:         scf.parallel
// CHECK:           scf.parallel

// After translation, each OpenMP region sits in its own outlined function.
// LLVM-DAG: define internal void @two_loops_par0..omp_par(
// LLVM-DAG: define internal void @two_loops_par1..omp_par(
// LLVM-DAG: define internal void @two_loops_par0(
// LLVM-DAG: define void @two_loops(
func.func @two_loops(%a: memref<64xf32>, %b: memref<8x8xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    memref.store %s, %a[%i] : memref<64xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %b[%j, %i] : memref<8x8xf32>
      memref.store %v, %b[%i, %j] : memref<8x8xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// A loop in a loop body: outlined with the body's induction variable as an
// argument. A function holding a single parallel loop is left as it is.

// CHECK-LABEL: func.func @in_for
// CHECK:         scf.for %[[K:.+]] =
// CHECK:           call @in_for_par0(%{{.+}}, %[[K]])
// CHECK:         call @in_for_par1(
// CHECK-LABEL: func.func private @in_for_par0
// CHECK-SAME:    (%{{.+}}: memref<4x16xf32>, %{{.+}}: index)
// CHECK-LABEL: func.func private @in_for_par1
// CHECK-LABEL: func.func @single
// CHECK-NOT:     call
// CHECK:         scf.parallel
// LLVM: define void @single(
func.func @in_for(%a: memref<4x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1.0 : f32
  scf.for %k = %c0 to %c4 step %c1 {
    scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
      memref.store %one, %a[%k, %i] : memref<4x16xf32>
      scf.reduce
    }
  }
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    memref.store %one, %a[%c0, %i] : memref<4x16xf32>
    scf.reduce
  }
  return
}

func.func @single(%a: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    memref.store %one, %a[%i] : memref<16xf32>
    scf.reduce
  }
  return
}

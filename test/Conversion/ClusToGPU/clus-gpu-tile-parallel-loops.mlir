// RUN: clusopt-opt %s --clus-gpu-tile-parallel-loops="threads=64" | FileCheck %s
// RUN: not clusopt-opt %s --clus-gpu-tile-parallel-loops="threads=2048" 2>&1 | FileCheck %s --check-prefix=ERR

// Only the innermost dimension is tiled by the thread count; the others by
// 1, so a 2-D loop gets 64 threads per block, not one.
// CHECK-LABEL: func.func @rank2
// CHECK:         %[[C64:.*]] = arith.constant 64 : index
// CHECK:         %[[S0:.*]] = arith.muli %c1, %c1{{.*}} : index
// CHECK:         %[[S1:.*]] = arith.muli %c1, %[[C64]] : index
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = {{.*}} step (%[[S0]], %[[S1]])
// CHECK:           scf.parallel (%{{.*}}, %{{.*}}) = {{.*}} to (%[[S0]], %[[S1]])
// CHECK:             scf.if
// CHECK:               memref.store
func.func @rank2(%m: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n0 = memref.dim %m, %c0 : memref<?x?xf32>
  %n1 = memref.dim %m, %c1 : memref<?x?xf32>
  %f = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%n0, %n1) step (%c1, %c1) {
    memref.store %f, %m[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// ERR: threads must be in [1, 1024], got 2048

// RUN: clusopt-opt %s --one-shot-bufferize="bufferize-function-boundaries" -split-input-file | FileCheck %s
// RUN: clusopt-opt %s --one-shot-bufferize="bufferize-function-boundaries" -split-input-file | clusopt-opt -split-input-file | FileCheck %s

// BufferizableOpInterface of the clus ops: one-shot bufferization turns each
// op on tensors into the same op on memrefs (its buffer form, no results),
// writing its destination's buffer. Inputs are only read; a destination's
// contents are never read, so a destination that cannot be written in place
// gets a fresh buffer and no copy. The buffer form round-trips (second RUN
// line).

// A PaCa layer of clus ops: every intermediate is one allocation, written
// in place by the op that makes it, and nothing is copied.
// CHECK-LABEL: func.func @paca_chain
// CHECK-SAME:    (%[[LOGITS:[^:]+]]: memref<1x4x16xf32, strided<[?, ?, ?], offset: ?>>, %[[X:[^:]+]]: memref<1x16x8xf32, strided<[?, ?, ?], offset: ?>>, %[[Q:[^:]+]]: memref<1x1x16x8xf32, strided<[?, ?, ?, ?], offset: ?>>)
// CHECK-SAME:    -> memref<1x1x16x8xf32>
// CHECK-NOT:     memref.copy
// CHECK:         %[[Z:.+]] = memref.alloc() {{.*}} : memref<1x4x16xf32>
// CHECK-NEXT:    clus.soft_assign %[[LOGITS]] outs(%[[Z]]) : memref<1x4x16xf32, strided<[?, ?, ?], offset: ?>> -> memref<1x4x16xf32>
// CHECK-NEXT:    %[[Y:.+]] = memref.alloc() {{.*}} : memref<1x4x8xf32>
// CHECK-NEXT:    clus.pool %[[Z]], %[[X]] outs(%[[Y]]) : memref<1x4x16xf32>, memref<1x16x8xf32, strided<[?, ?, ?], offset: ?>> -> memref<1x4x8xf32>
// CHECK-DAG:     %[[K:.+]] = memref.expand_shape %[[Y]]
// CHECK-DAG:     %[[O:.+]] = memref.alloc() {{.*}} : memref<1x1x16x8xf32>
// CHECK:         clus.attention %[[Q]], [%[[K]], %[[K]]] outs(%[[O]])
// CHECK-NOT:     memref.copy
// CHECK:         return %[[O]] : memref<1x1x16x8xf32>
func.func @paca_chain(%logits: tensor<1x4x16xf32>, %x: tensor<1x16x8xf32>,
                      %q: tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32> {
  %z_init = tensor.empty() : tensor<1x4x16xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<1x4x16xf32>
  %y_init = tensor.empty() : tensor<1x4x8xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<1x4x16xf32>, tensor<1x16x8xf32> -> tensor<1x4x8xf32>
  %k = tensor.expand_shape %y [[0, 1], [2], [3]] output_shape [1, 1, 4, 8]
      : tensor<1x4x8xf32> into tensor<1x1x4x8xf32>
  %o_init = tensor.empty() : tensor<1x1x16x8xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init)
      : tensor<1x1x16x8xf32>, [tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>]
      -> tensor<1x1x16x8xf32>
  return %o : tensor<1x1x16x8xf32>
}

// -----

// A destination passed in by the caller, read by nothing else, is written
// in place: the caller's buffer is the result.
// CHECK-LABEL: func.func @outs_in_place
// CHECK-SAME:    (%[[Z:[^:]+]]: memref<2x4x8xf32, {{.+}}>, %[[X:[^:]+]]: memref<2x8x16xf32, {{.+}}>, %[[OUT:[^:]+]]: memref<2x4x16xf32, {{.+}}>)
// CHECK-NOT:     memref.alloc
// CHECK:         clus.pool %[[Z]], %[[X]] outs(%[[OUT]])
// CHECK-NEXT:    return %[[OUT]]
func.func @outs_in_place(%z: tensor<2x4x8xf32>, %x: tensor<2x8x16xf32>,
                         %out: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %y = clus.pool %z, %x outs(%out)
      : tensor<2x4x8xf32>, tensor<2x8x16xf32> -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

// -----

// An input is never written. Here the destination of the first pool is an
// argument that the second pool reads afterwards: the first pool gets a
// new buffer (not a copy, as it never reads its destination), and the
// second reads the argument unchanged.
// CHECK-LABEL: func.func @outs_read_later
// CHECK-SAME:    (%[[Z:[^:]+]]: memref<2x4x8xf32, {{.+}}>, %[[X:[^:]+]]: memref<2x8x16xf32, {{.+}}>, %[[W:[^:]+]]: memref<2x4x16xf32, {{.+}}>, %[[ZT:[^:]+]]: memref<2x16x4xf32, {{.+}}>)
// CHECK-NOT:     memref.copy
// CHECK:         %[[Y:.+]] = memref.alloc() {{.*}} : memref<2x4x16xf32>
// CHECK-NEXT:    clus.pool %[[Z]], %[[X]] outs(%[[Y]])
// CHECK:         %[[P:.+]] = memref.alloc() {{.*}} : memref<2x16x16xf32>
// CHECK-NEXT:    clus.pool %[[ZT]], %[[W]] outs(%[[P]])
// CHECK-NOT:     memref.copy
// CHECK:         return %[[Y]], %[[P]]
func.func @outs_read_later(%z: tensor<2x4x8xf32>, %x: tensor<2x8x16xf32>,
                           %w: tensor<2x4x16xf32>, %zt: tensor<2x16x4xf32>)
    -> (tensor<2x4x16xf32>, tensor<2x16x16xf32>) {
  %y = clus.pool %z, %x outs(%w)
      : tensor<2x4x8xf32>, tensor<2x8x16xf32> -> tensor<2x4x16xf32>
  %i = tensor.empty() : tensor<2x16x16xf32>
  %p = clus.pool %zt, %w outs(%i)
      : tensor<2x16x4xf32>, tensor<2x4x16xf32> -> tensor<2x16x16xf32>
  return %y, %p : tensor<2x4x16xf32>, tensor<2x16x16xf32>
}

// -----

// A read-only argument as destination (bufferization.writable = false)
// gets its own buffer too.
// CHECK-LABEL: func.func @outs_not_writable
// CHECK-SAME:    %[[OUT:[^:]+]]: memref<2x8xi32, {{.+}}>)
// CHECK-NOT:     memref.copy
// CHECK-DAG:     %[[A:.+]] = memref.alloc() {{.*}} : memref<2x8xi32>
// CHECK-DAG:     %[[C:.+]] = memref.alloc() {{.*}} : memref<2x4x16xf32>
// CHECK:         clus.kmeans %{{.+}} clusters = 4 iterations = 2 outs(%[[A]], %[[C]]) {clus.lowering_config = #clus.lowering_config<rows = 2>} : memref<2x8x16xf32, {{.+}}> -> memref<2x8xi32>, memref<2x4x16xf32>
// CHECK-NOT:     memref.copy
// CHECK:         return %[[A]], %[[C]]
func.func @outs_not_writable(
    %x: tensor<2x8x16xf32>,
    %out: tensor<2x8xi32> {bufferization.writable = false})
    -> (tensor<2x8xi32>, tensor<2x4x16xf32>) {
  %c0 = tensor.empty() : tensor<2x4x16xf32>
  %a, %c = clus.kmeans %x clusters = 4 iterations = 2 outs(%out, %c0)
      {clus.lowering_config = #clus.lowering_config<rows = 2>}
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return %a, %c : tensor<2x8xi32>, tensor<2x4x16xf32>
}

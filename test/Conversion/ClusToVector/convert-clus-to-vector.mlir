// RUN: clusopt-opt %s --convert-clus-to-vector="vector-width=16 rows=4 cols=64" --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-vector="vector-width=8 rows=2 cols=32" --split-input-file | FileCheck %s --check-prefix=AVX2

// soft_assign over tokens feeding pool fuses into one online-softmax pass:
// the soft_assign disappears, no [B, M, N] buffer is allocated, and the only
// per-token scratch is one [rows, cols] tile of probabilities.

// CHECK-LABEL: func.func @fused_pool
// CHECK-NOT:     clus.soft_assign
// CHECK-NOT:     memref<2x7x50xf32>{{.*}}alloc
// CHECK:         %[[Y:.+]] = memref.alloc() {alignment = 64 : i64} : memref<2x7x20xf32>
// CHECK:         scf.parallel
// CHECK:           memref.alloca_scope
// CHECK-DAG:       memref.alloca({{.*}}) {alignment = 64 : i64} : memref<4x?xf32>
// CHECK-DAG:       memref.alloca() {alignment = 64 : i64} : memref<4x64xf32>
// CHECK:           vector.reduction <maximumf>
// CHECK:           math.exp %{{.+}} : vector<16xf32>
// CHECK:           vector.fma {{.*}} : vector<16xf32>
// CHECK:         bufferization.to_tensor %[[Y]] restrict writable
// CHECK-NOT:     clus.
// AVX2-LABEL: func.func @fused_pool
// AVX2:         memref.alloca() {alignment = 64 : i64} : memref<2x32xf32>
// AVX2:         vector.fma {{.*}} : vector<8xf32>
func.func @fused_pool(%l: tensor<2x7x50xf32>, %x: tensor<2x50x20xf32>) -> tensor<2x7x20xf32> {
  %z = clus.soft_assign %l : tensor<2x7x50xf32>
  %y = clus.pool %z, %x : tensor<2x7x50xf32>, tensor<2x50x20xf32>
  return %y : tensor<2x7x20xf32>
}

// -----

// A soft_assign with another user is kept (and vectorised) beside the fused
// pool; a softmax over clusters cannot fuse, so that pool reads Z.

// CHECK-LABEL: func.func @shared_soft_assign
// CHECK-NOT:     clus.
// CHECK:         %[[Z:.+]] = bufferization.to_tensor
// CHECK:         return %[[Z]], %{{.+}} : tensor<1x3x9xf16>, tensor<1x3x5xf16>
func.func @shared_soft_assign(%l: tensor<1x3x9xf16>, %x: tensor<1x9x5xf16>) -> (tensor<1x3x9xf16>, tensor<1x3x5xf16>) {
  %z = clus.soft_assign %l : tensor<1x3x9xf16>
  %y = clus.pool %z, %x : tensor<1x3x9xf16>, tensor<1x9x5xf16>
  return %z, %y : tensor<1x3x9xf16>, tensor<1x3x5xf16>
}

// -----

// Flash attention: keys are transposed once into an f32 [B, H, D, M padded]
// buffer; per (b, h, block of 4 queries) the kernel streams cluster tiles.
// No [N, M] score buffer exists: the only score storage is the [4, 64] tile.
// Both scales run inside the same parallel loop.

// CHECK-LABEL: func.func @attention_two_scales
// CHECK-NOT:     memref<1x2x50x7xf32>
// CHECK-NOT:     memref<1x2x50x19xf32>
// CHECK:         memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x?x?xf32>
// CHECK:         memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x?x?xf32>
// CHECK:         scf.parallel (%{{.+}}, %{{.+}}, %{{.+}}) =
// CHECK:           memref.alloca() {alignment = 64 : i64} : memref<4x64xf32>
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c64{{(_[0-9]+)?}} iter_args
// CHECK:             vector.create_mask
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c64{{(_[0-9]+)?}} iter_args
// CHECK:             vector.create_mask
// CHECK-NOT:     scf.parallel
// CHECK:         return
func.func @attention_two_scales(%q: tensor<1x2x50x24xf32>, %k1: tensor<1x2x7x24xf32>, %v1: tensor<1x2x7x24xf32>, %k2: tensor<1x2x19x24xf32>, %v2: tensor<1x2x19x24xf32>) -> tensor<1x2x50x24xf32> {
  %o = clus.attention %q, [%k1, %v1], [%k2, %v2] : tensor<1x2x50x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>], [tensor<1x2x19x24xf32>, tensor<1x2x19x24xf32>]
  return %o : tensor<1x2x50x24xf32>
}

// -----

// A `clus.tile` attribute overrides the pass options for that op only.

// CHECK-LABEL: func.func @tile_attribute
// CHECK:         memref.alloca() {alignment = 64 : i64} : memref<2x32xf32>
// CHECK-NOT:     memref<4x64xf32>
func.func @tile_attribute(%q: tensor<1x1x9x16xf32>, %k: tensor<1x1x5x16xf32>, %v: tensor<1x1x5x16xf32>) -> tensor<1x1x9x16xf32> {
  %o = clus.attention %q, [%k, %v] {clus.tile = {rows = 2 : i64, cols = 32 : i64}} : tensor<1x1x9x16xf32>, [tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>]
  return %o : tensor<1x1x9x16xf32>
}

// -----

// dpc_knn never materialises the N×N distance matrix: its buffers are Xᵀ,
// per-token density, row maxima and scores, the top centres and the
// results; the k-nearest list is a [5] scratch per row.

// CHECK-LABEL: func.func @dpc_knn
// CHECK-NOT:     memref<2x50x50xf32>
// CHECK-NOT:     memref<?x?x?xf32>{{.*}}%c50{{.*}}%c50
// CHECK:         memref.alloca() {alignment = 64 : i64} : memref<5xf32>
// CHECK:         vector.reduction <or>
// CHECK:         vector.reduction <minimumf>
// CHECK:         vector.reduction <minsi>
// CHECK-NOT:     clus.dpc_knn
func.func @dpc_knn(%x: tensor<2x50x8xf32>) -> (tensor<2x2x50xi32>, tensor<2x2x9xi32>) {
  %a, %c = clus.dpc_knn %x clusters = [3, 9] : tensor<2x50x8xf32>
  return %a, %c : tensor<2x2x50xi32>, tensor<2x2x9xi32>
}

// -----

// Ops without a vector kernel are left for convert-clus-to-linalg.

// CHECK-LABEL: func.func @leftover
// CHECK:         clus.kmeans
func.func @leftover(%x: tensor<1x6x2xf32>) -> tensor<1x6xi32> {
  %a, %c = clus.kmeans %x clusters = 2 iterations = 3 : tensor<1x6x2xf32>
  return %a : tensor<1x6xi32>
}

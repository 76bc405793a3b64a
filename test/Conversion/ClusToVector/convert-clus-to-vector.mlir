// RUN: clusopt-opt %s --convert-clus-to-vector="vector-width=16 rows=4 cols=64" --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-vector="vector-width=8 rows=2 cols=32" --split-input-file | FileCheck %s --check-prefix=AVX2
// Static buffer shapes show after canonicalisation; MEM blocks hold only
// -NOT lines, so each scans its whole function.
// RUN: clusopt-opt %s --convert-clus-to-vector="vector-width=16 rows=4 cols=64" --canonicalize --split-input-file | FileCheck %s --check-prefix=MEM

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
// The 4 rows' softmax loops run side by side (one loop carries their 4
// max vectors); a row's max is a shuffle tree of compare-selects (what
// vmaxps computes) and its sum of exps a reassociable reduction, not
// ordered chains.
// CHECK:           scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:           vector.shuffle {{.*}} [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]
// CHECK-NEXT:      arith.cmpf ogt
// CHECK-NEXT:      arith.select
// CHECK:           math.exp %{{.+}} : vector<16xf32>
// CHECK:           vector.reduction <add>, %{{.+}} fastmath<reassoc>
// CHECK:           vector.fma {{.*}} : vector<16xf32>
// CHECK:         bufferization.to_tensor %[[Y]] restrict writable
// CHECK-NOT:     clus.
// AVX2-LABEL: func.func @fused_pool
// AVX2:         memref.alloca() {alignment = 64 : i64} : memref<2x32xf32>
// AVX2:         vector.fma {{.*}} : vector<8xf32>
func.func @fused_pool(%l: tensor<2x7x50xf32>, %x: tensor<2x50x20xf32>) -> tensor<2x7x20xf32> {
  %z_init = tensor.empty() : tensor<2x7x50xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<2x7x50xf32>
  %y_init = tensor.empty() : tensor<2x7x20xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x7x50xf32>, tensor<2x50x20xf32> -> tensor<2x7x20xf32>
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
  %z_init = tensor.empty() : tensor<1x3x9xf16>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x3x9xf16>
  %y_init = tensor.empty() : tensor<1x3x5xf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<1x3x9xf16>, tensor<1x9x5xf16> -> tensor<1x3x5xf16>
  return %z, %y : tensor<1x3x9xf16>, tensor<1x3x5xf16>
}

// -----

// Flash attention: keys are transposed once into an f32 [B, H, D, M padded]
// buffer; per (b, h, block of 4 queries) the kernel streams cluster tiles.
// No [N, M] score buffer exists: the only score storage is the [4, 32]
// tile (cols = 64 clamped to the 19 clusters padded to a vector of 16).
// Both scales run inside the same parallel loop.

// CHECK-LABEL: func.func @attention_two_scales
// CHECK-NOT:     memref<1x2x50x7xf32>
// CHECK-NOT:     memref<1x2x50x19xf32>
// CHECK:         memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x?x?xf32>
// CHECK:         memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x?x?xf32>
// CHECK:         scf.parallel (%{{.+}}, %{{.+}}, %{{.+}}) =
// CHECK:           memref.alloca() {alignment = 64 : i64} : memref<4x32xf32>
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c32{{(_[0-9]+)?}} iter_args
// CHECK:             vector.create_mask
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c32{{(_[0-9]+)?}} iter_args
// CHECK:             vector.create_mask
// CHECK-NOT:     scf.parallel
// CHECK:         return
func.func @attention_two_scales(%q: tensor<1x2x50x24xf32>, %k1: tensor<1x2x7x24xf32>, %v1: tensor<1x2x7x24xf32>, %k2: tensor<1x2x19x24xf32>, %v2: tensor<1x2x19x24xf32>) -> tensor<1x2x50x24xf32> {
  %o_init = tensor.empty() : tensor<1x2x50x24xf32>
  %o = clus.attention %q, [%k1, %v1], [%k2, %v2] outs(%o_init)
      : tensor<1x2x50x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>], [tensor<1x2x19x24xf32>, tensor<1x2x19x24xf32>]
      -> tensor<1x2x50x24xf32>
  return %o : tensor<1x2x50x24xf32>
}

// -----

// A `clus.lowering_config` overrides the pass options for that op only
// (cols = 32, clamped to the 5 clusters padded to one vector of 16).
// The tile's queries, pre-scaled, go to a [rows, d] scratch that the score
// loop broadcasts from; with one scale there is one [rows, dv] accumulator
// and no second one for the sum over scales.

// CHECK-LABEL: func.func @tile_attribute
// CHECK:         %[[QS:.+]] = memref.alloca({{.*}}) {alignment = 64 : i64} : memref<2x?xf32>
// CHECK:         memref.alloca({{.*}}) {alignment = 64 : i64} : memref<2x?xf32>
// CHECK-NOT:     memref<2x?xf32>
// CHECK:         memref.alloca() {alignment = 64 : i64} : memref<2x16xf32>
// CHECK-NOT:     memref.alloca
// CHECK-NOT:     memref<4x64xf32>
// CHECK:         memref.load %[[QS]]
// CHECK:         vector.fma
func.func @tile_attribute(%q: tensor<1x1x9x16xf32>, %k: tensor<1x1x5x16xf32>, %v: tensor<1x1x5x16xf32>) -> tensor<1x1x9x16xf32> {
  %o_init = tensor.empty() : tensor<1x1x9x16xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 2, cols = 32>}
      : tensor<1x1x9x16xf32>, [tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>]
      -> tensor<1x1x9x16xf32>
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
  %a_init = tensor.empty() : tensor<2x2x50xi32>
  %c_init = tensor.empty() : tensor<2x2x9xi32>
  %a, %c = clus.dpc_knn %x clusters = [3, 9] outs(%a_init, %c_init)
      : tensor<2x50x8xf32> -> tensor<2x2x50xi32>, tensor<2x2x9xi32>
  return %a, %c : tensor<2x2x50xi32>, tensor<2x2x9xi32>
}

// -----

// kmeans: every Lloyd iteration is parallel phases inside one scf.for:
// μᵀ, the nearest centroid (vector argmin, ties to the lower index) and
// the channel-split segment means. No [B, N, M] distance buffer exists.

// CHECK-LABEL: func.func @kmeans
// CHECK:         scf.for
// CHECK:           scf.parallel
// CHECK:           scf.parallel
// CHECK:             vector.reduction <minsi>
// CHECK:           scf.parallel
// CHECK:           scf.parallel
// CHECK-NOT:     clus.kmeans
// MEM-LABEL:   func.func @kmeans
// MEM-NOT:       memref<2x50x7xf32>
// MEM-NOT:       memref<2x50x16xf32>
func.func @kmeans(%x: tensor<2x50x8xf32>) -> (tensor<2x50xi32>, tensor<2x7x8xf32>) {
  %a_init = tensor.empty() : tensor<2x50xi32>
  %c_init = tensor.empty() : tensor<2x7x8xf32>
  %a, %c = clus.kmeans %x clusters = 7 iterations = 3 metric = cosine outs(%a_init, %c_init)
      : tensor<2x50x8xf32> -> tensor<2x50xi32>, tensor<2x7x8xf32>
  return %a, %c : tensor<2x50xi32>, tensor<2x7x8xf32>
}

// -----

// aggregate scatters each token row into its cluster, one channel vector
// per parallel iteration (no atomics, no [M, N] one-hot matrix); broadcast
// gathers rows back. Out-of-range ids are rejected by one unsigned compare.

// CHECK-LABEL: func.func @aggregate_broadcast
// CHECK:         scf.parallel
// CHECK:           arith.cmpi ult
// CHECK:         scf.parallel
// CHECK:           arith.cmpi ult
// CHECK:           vector.fma
// CHECK:           arith.divf {{.*}} : vector<16xf32>
// CHECK:         scf.parallel
// CHECK:           arith.cmpi ult
// CHECK-NOT:     clus.
// MEM-LABEL:   func.func @aggregate_broadcast
// MEM-NOT:       memref<2x7x50xf32>
// MEM-NOT:       memref<2x50x7xf32>
func.func @aggregate_broadcast(%x: tensor<2x50x8xf32>, %a: tensor<2x50xi32>, %w: tensor<2x50xf32>) -> (tensor<2x7x8xf32>, tensor<2x50x8xf32>) {
  %y_init = tensor.empty() : tensor<2x7x8xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<2x50xf32>) clusters = 7 reduction = weighted_mean outs(%y_init)
      : tensor<2x50x8xf32>, tensor<2x50xi32> -> tensor<2x7x8xf32>
  %b_init = tensor.empty() : tensor<2x50x8xf32>
  %b = clus.broadcast %y, %a outs(%b_init)
      : tensor<2x7x8xf32>, tensor<2x50xi32> -> tensor<2x50x8xf32>
  return %y, %b : tensor<2x7x8xf32>, tensor<2x50x8xf32>
}

// -----

// topk_members keeps a running top-κ per cluster in [κ, width] lists, one
// vector of clusters per parallel iteration; a vector compare against the
// lists' last entries skips tokens that rank nowhere. The exclusive form
// first finds each token's owner (argmax, ties to the lower cluster). No
// [N, N] or [N, M] rank tensor exists.

// CHECK-LABEL: func.func @topk_members
// CHECK:         scf.parallel
// CHECK:           memref.alloca() {{.*}} : memref<28x16xf32>
// CHECK:           memref.alloca() {{.*}} : memref<28x16xi32>
// CHECK:           vector.reduction <or>
// CHECK:         scf.parallel
// CHECK:           vector.reduction <minsi>
// CHECK:         scf.parallel
// CHECK:           vector.reduction <or>
// CHECK-NOT:     clus.topk_members
// MEM-LABEL:   func.func @topk_members
// MEM-NOT:       memref<1x196x196
// MEM-NOT:       memref<1x196x14xi32>
func.func @topk_members(%g: tensor<1x196x14xf32>) -> (tensor<1x14x28xi32>, tensor<1x14x28xi32>) {
  %m_init = tensor.empty() : tensor<1x14x28xi32>
  %m = clus.topk_members %g capacity = 28 outs(%m_init)
      : tensor<1x196x14xf32> -> tensor<1x14x28xi32>
  %e_init = tensor.empty() : tensor<1x14x28xi32>
  %e = clus.topk_members %g capacity = 28 exclusive outs(%e_init)
      : tensor<1x196x14xf32> -> tensor<1x14x28xi32>
  return %m, %e : tensor<1x14x28xi32>, tensor<1x14x28xi32>
}

// -----

// cluster_attention: summaries, then per cluster the member slots' outputs
// (intra scores from a gathered Kᵀ, one softmax with the other clusters'
// Aq), then a channel-split scatter-mean. Per-cluster scores live in a
// [rows, κ] scratch; no [M, κ, κ] or [N, N] buffer is stored.

// CHECK-LABEL: func.func @cluster_attention
// CHECK:         scf.parallel
// CHECK:         scf.parallel
// CHECK:           memref.alloca({{.*}}) {{.*}} : memref<?x?xf32>
// CHECK:           vector.fma
// CHECK:           math.exp {{.*}} : vector<16xf32>
// CHECK:         scf.parallel
// CHECK-NOT:     clus.cluster_attention
// MEM-LABEL:   func.func @cluster_attention
// MEM-NOT:       memref<1x3x14x28x28xf32>
// MEM-NOT:       memref<1x3x196x196xf32>
func.func @cluster_attention(%q: tensor<1x3x196x64xf32>, %k: tensor<1x3x196x64xf32>, %v: tensor<1x3x196x64xf32>, %members: tensor<1x14x28xi32>, %aq: tensor<1x3x196x14xf32>, %ak: tensor<1x3x196x14xf32>) -> tensor<1x3x196x64xf32> {
  %o_init = tensor.empty() : tensor<1x3x196x64xf32>
  %o = clus.cluster_attention %q, %k, %v members(%members) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>, tensor<1x14x28xi32>, tensor<1x3x196x14xf32>, tensor<1x3x196x14xf32>
      -> tensor<1x3x196x64xf32>
  return %o : tensor<1x3x196x64xf32>
}

// RUN: clusopt-opt %s --transform-interpreter --split-input-file | FileCheck %s

// TilingInterface of the clus ops: upstream's scf tiling (transform.structured
// tile_using_for) and tile-and-fuse (transform.structured.fuse) on them. A
// tile is the same op on extract_slices of its operands: the parallel dims
// (batch, heads, rows) are cut, the axes an op reduces over stay whole.

// Attention tiled over batch, heads and queries: every tile reads its
// queries and all keys and values of its (batch, head).
// CHECK-LABEL: func.func @attention_tiled
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<2x4x64x16xf32>, %[[K:[^:]+]]: tensor<2x4x10x16xf32>, %[[V:[^:]+]]: tensor<2x4x10x8xf32>)
// CHECK:         %[[INIT:.+]] = tensor.empty() : tensor<2x4x64x8xf32>
// CHECK:         scf.for %[[B:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[O0:.+]] = %[[INIT]])
// CHECK:           scf.for %[[H:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[O1:.+]] = %[[O0]])
// CHECK:             scf.for %[[N:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[O2:.+]] = %[[O1]])
// CHECK-DAG:           %[[QT:.+]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[N]], 0] [1, 2, 16, 16] [1, 1, 1, 1]
// CHECK-DAG:           %[[KT:.+]] = tensor.extract_slice %[[K]][%[[B]], %[[H]], 0, 0] [1, 2, 10, 16] [1, 1, 1, 1]
// CHECK-DAG:           %[[VT:.+]] = tensor.extract_slice %[[V]][%[[B]], %[[H]], 0, 0] [1, 2, 10, 8] [1, 1, 1, 1]
// CHECK-DAG:           %[[OT:.+]] = tensor.extract_slice %[[O2]][%[[B]], %[[H]], %[[N]], 0] [1, 2, 16, 8] [1, 1, 1, 1]
// CHECK:               %[[T:.+]] = clus.attention %[[QT]], [%[[KT]], %[[VT]]] scale = 2.500000e-01 outs(%[[OT]])
// CHECK-SAME:              -> tensor<1x2x16x8xf32>
// CHECK:               tensor.insert_slice %[[T]] into %[[O2]][%[[B]], %[[H]], %[[N]], 0] [1, 2, 16, 8] [1, 1, 1, 1]
func.func @attention_tiled(%q: tensor<2x4x64x16xf32>, %k: tensor<2x4x10x16xf32>,
                           %v: tensor<2x4x10x8xf32>) -> tensor<2x4x64x8xf32> {
  %init = tensor.empty() : tensor<2x4x64x8xf32>
  %o = clus.attention %q, [%k, %v] scale = 0.25 outs(%init)
      : tensor<2x4x64x16xf32>, [tensor<2x4x10x16xf32>, tensor<2x4x10x8xf32>]
      -> tensor<2x4x64x8xf32>
  return %o : tensor<2x4x64x8xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.attention"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:3 = transform.structured.tile_using_for %op tile_sizes [1, 2, 16]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// pool over dynamic shapes, tiled over clusters and channels: each tile
// reads all tokens of its clusters' rows of z and its columns of x.
// CHECK-LABEL: func.func @pool_tiled
// CHECK-SAME:    (%[[Z:[^:]+]]: tensor<?x?x?xf32>, %[[X:[^:]+]]: tensor<?x?x?xf32>, %[[INIT:[^:]+]]: tensor<?x?x?xf32>)
// CHECK:         scf.for %[[M:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[Y0:.+]] = %[[INIT]])
// CHECK:           scf.for %[[C:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[Y1:.+]] = %[[Y0]])
// CHECK-DAG:         %[[ZT:.+]] = tensor.extract_slice %[[Z]][0, %[[M]], 0] [%{{.+}}, %{{.+}}, %{{.+}}] [1, 1, 1] : tensor<?x?x?xf32> to tensor<?x?x?xf32>
// CHECK-DAG:         %[[XT:.+]] = tensor.extract_slice %[[X]][0, 0, %[[C]]] [%{{.+}}, %{{.+}}, %{{.+}}] [1, 1, 1] : tensor<?x?x?xf32> to tensor<?x?x?xf32>
// CHECK:             %[[T:.+]] = clus.pool %[[ZT]], %[[XT]] outs(%{{.+}})
// CHECK:             tensor.insert_slice %[[T]] into %[[Y1]][0, %[[M]], %[[C]]]
func.func @pool_tiled(%z: tensor<?x?x?xf32>, %x: tensor<?x?x?xf32>,
                      %init: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %y = clus.pool %z, %x outs(%init)
      : tensor<?x?x?xf32>, tensor<?x?x?xf32> -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.pool"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %op tile_sizes [0, 8, 32]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Tile and fuse: the q projection (a linalg contraction over channels) and
// its zero fill are fused into each attention tile, so a tile projects only
// its own 16 tokens of its head (the untiled projection is left dead).
// CHECK-LABEL: func.func @attention_fuse_q_projection
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<1x64x32xf32>, %[[W:[^:]+]]: tensor<2x32x16xf32>
// CHECK:         scf.for %[[H:.+]] = {{.+}} iter_args
// CHECK:           scf.for %[[N:.+]] = {{.+}} iter_args
// CHECK-DAG:         %[[XT:.+]] = tensor.extract_slice %[[X]][0, %[[N]], 0] [1, 16, 32] [1, 1, 1]
// CHECK-DAG:         %[[WT:.+]] = tensor.extract_slice %[[W]][%[[H]], 0, 0] [1, 32, 16] [1, 1, 1]
// CHECK:             %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x1x16x16xf32>)
// CHECK:             %[[QT:.+]] = linalg.generic {{.+}} ins(%[[XT]], %[[WT]] : tensor<1x16x32xf32>, tensor<1x32x16xf32>) outs(%[[ACC]] : tensor<1x1x16x16xf32>)
// CHECK:             clus.attention %[[QT]], [%{{.+}}, %{{.+}}] outs(%{{.+}}) : tensor<1x1x16x16xf32>
// CHECK-SAME:            -> tensor<1x1x16x8xf32>
// CHECK:         return
func.func @attention_fuse_q_projection(%x: tensor<1x64x32xf32>, %w: tensor<2x32x16xf32>,
    %k: tensor<1x2x10x16xf32>, %v: tensor<1x2x10x8xf32>) -> tensor<1x2x64x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x64x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x64x16xf32>) -> tensor<1x2x64x16xf32>
  %q = linalg.generic {
      indexing_maps = [affine_map<(b, h, n, d, c) -> (b, n, c)>,
                       affine_map<(b, h, n, d, c) -> (h, c, d)>,
                       affine_map<(b, h, n, d, c) -> (b, h, n, d)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<1x64x32xf32>, tensor<2x32x16xf32>)
      outs(%acc : tensor<1x2x64x16xf32>) {
  ^bb0(%xi: f32, %wi: f32, %a: f32):
    %p = arith.mulf %xi, %wi : f32
    %s = arith.addf %a, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x64x16xf32>
  %init = tensor.empty() : tensor<1x2x64x8xf32>
  %o = clus.attention %q, [%k, %v] outs(%init)
      : tensor<1x2x64x16xf32>, [tensor<1x2x10x16xf32>, tensor<1x2x10x8xf32>]
      -> tensor<1x2x64x8xf32>
  return %o : tensor<1x2x64x8xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.attention"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.fuse %op tile_sizes [0, 1, 16]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// A consumer tiled along the value dim (Dv) cannot take attention as a
// fused producer: every attention tile computes whole rows of Dv. The
// consumer is tiled and reads its tiles from the whole attention before the
// loop (the driver's dead clone of the producer in the loop is left for
// canonicalization).
// CHECK-LABEL: func.func @attention_not_fused_along_dv
// CHECK:         %[[O:.+]] = clus.attention %{{.+}} -> tensor<1x2x64x8xf32>
// CHECK:         scf.for
// CHECK-NOT:       clus.attention {{.+}} -> tensor<1x2x64x4xf32>
// CHECK:           %[[S:.+]] = tensor.extract_slice %[[O]][0, 0, 0, %{{.+}}] [1, 2, 64, 4]
// CHECK-NOT:       clus.attention {{.+}} -> tensor<1x2x64x4xf32>
// CHECK:           linalg.generic {{.+}} ins(%[[S]] : tensor<1x2x64x4xf32>)
func.func @attention_not_fused_along_dv(%q: tensor<1x2x64x16xf32>,
    %k: tensor<1x2x10x16xf32>, %v: tensor<1x2x10x8xf32>) -> tensor<1x2x64x8xf32> {
  %init = tensor.empty() : tensor<1x2x64x8xf32>
  %o = clus.attention %q, [%k, %v] outs(%init)
      : tensor<1x2x64x16xf32>, [tensor<1x2x10x16xf32>, tensor<1x2x10x8xf32>]
      -> tensor<1x2x64x8xf32>
  %e = tensor.empty() : tensor<1x2x64x8xf32>
  %r = linalg.generic {
      indexing_maps = [affine_map<(b, h, n, d) -> (b, h, n, d)>,
                       affine_map<(b, h, n, d) -> (b, h, n, d)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o : tensor<1x2x64x8xf32>) outs(%e : tensor<1x2x64x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.mulf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<1x2x64x8xf32>
  return %r : tensor<1x2x64x8xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["linalg.generic"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %tiled, %loops = transform.structured.fuse %op tile_sizes [0, 0, 0, 4]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// kmeans is parallel over the batch only: a tile clusters all tokens of
// its batch items, with their initial centroids.
// CHECK-LABEL: func.func @kmeans_tiled
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<4x9x5xf32>, %[[MU:[^:]+]]: tensor<4x3x5xf32>)
// CHECK:         scf.for %[[B:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[A:.+]] = %{{.+}}, %[[C:.+]] = %{{.+}})
// CHECK-DAG:       %[[XT:.+]] = tensor.extract_slice %[[X]][%[[B]], 0, 0] [2, 9, 5] [1, 1, 1]
// CHECK-DAG:       %[[MT:.+]] = tensor.extract_slice %[[MU]][%[[B]], 0, 0] [2, 3, 5] [1, 1, 1]
// CHECK-DAG:       %[[AT:.+]] = tensor.extract_slice %[[A]][%[[B]], 0] [2, 9] [1, 1]
// CHECK-DAG:       %[[CT:.+]] = tensor.extract_slice %[[C]][%[[B]], 0, 0] [2, 3, 5] [1, 1, 1]
// CHECK:           %{{.+}} = clus.kmeans %[[XT]] init(%[[MT]] : tensor<2x3x5xf32>) clusters = 3 iterations = 2 outs(%[[AT]], %[[CT]])
// CHECK-SAME:          -> tensor<2x9xi32>, tensor<2x3x5xf32>
func.func @kmeans_tiled(%x: tensor<4x9x5xf32>, %mu: tensor<4x3x5xf32>)
    -> (tensor<4x9xi32>, tensor<4x3x5xf32>) {
  %a0 = tensor.empty() : tensor<4x9xi32>
  %c0 = tensor.empty() : tensor<4x3x5xf32>
  %a, %c = clus.kmeans %x init(%mu : tensor<4x3x5xf32>) clusters = 3
      iterations = 2 outs(%a0, %c0)
      : tensor<4x9x5xf32> -> tensor<4x9xi32>, tensor<4x3x5xf32>
  return %a, %c : tensor<4x9xi32>, tensor<4x3x5xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.kmeans"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_for %op tile_sizes [2]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

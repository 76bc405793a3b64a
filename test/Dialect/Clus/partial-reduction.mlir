// RUN: clusopt-opt %s --transform-interpreter -split-input-file -verify-diagnostics | FileCheck %s

// PartialReductionOpInterface of clus.pool (tokens) and single-scale
// clus.attention (keys): upstream's tile_reduction_using_for splits the
// reduction, the last dim of the op's iteration domain, into chunks carried
// through an scf.for, and merges the partial results after the loop. A clus
// op never reads its destination, so the partials are separate f32 tensors
// and each chunk adds to them.

// pool: each chunk of 4 tokens (the last one 2) is pooled by a clus.pool
// into a fresh tensor and added to the f32 partial; the merge writes the
// partial into the op's destination.
// CHECK-LABEL: func.func @pool_split
// CHECK-SAME:    (%[[Z:[^:]+]]: tensor<2x4x10xf32>, %[[X:[^:]+]]: tensor<2x10x16xf32>)
// CHECK:         %[[INIT:.+]] = tensor.empty() : tensor<2x4x16xf32>
// CHECK:         %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x4x16xf32>)
// CHECK:         %[[PARTIAL:.+]] = scf.for %[[N:.+]] = %{{.+}} to %{{.+}} step %[[C4:[^ ]+]] iter_args(%[[ACC:.+]] = %[[ZERO]]) -> (tensor<2x4x16xf32>)
// CHECK:           %[[SIZE:.+]] = affine.min #{{.+}}(%[[N]])
// CHECK-DAG:       %[[ZT:.+]] = tensor.extract_slice %[[Z]][0, 0, %[[N]]] [2, 4, %[[SIZE]]] [1, 1, 1] : tensor<2x4x10xf32> to tensor<2x4x?xf32>
// CHECK-DAG:       %[[XT:.+]] = tensor.extract_slice %[[X]][0, %[[N]], 0] [2, %[[SIZE]], 16] [1, 1, 1] : tensor<2x10x16xf32> to tensor<2x?x16xf32>
// CHECK-DAG:       %[[ACCT:.+]] = tensor.extract_slice %[[ACC]][0, 0, 0] [2, 4, 16] [1, 1, 1]
// CHECK:           %[[CHUNK:.+]] = clus.pool %[[ZT]], %[[XT]] outs(%{{.+}}) : tensor<2x4x?xf32>, tensor<2x?x16xf32> -> tensor<2x4x16xf32>
// CHECK:           %[[SUM:.+]] = linalg.generic {{.+}} ins(%[[CHUNK]] : tensor<2x4x16xf32>) outs(%[[ACCT]] : tensor<2x4x16xf32>)
// CHECK:             arith.addf
// CHECK:           %[[NEXT:.+]] = tensor.insert_slice %[[SUM]] into %[[ACC]][0, 0, 0] [2, 4, 16] [1, 1, 1]
// CHECK:           scf.yield %[[NEXT]]
// CHECK:         %[[Y:.+]] = linalg.generic {{.+}} ins(%[[PARTIAL]] : tensor<2x4x16xf32>) outs(%[[INIT]] : tensor<2x4x16xf32>)
// CHECK:         return %[[Y]]
func.func @pool_split(%z: tensor<2x4x10xf32>, %x: tensor<2x10x16xf32>)
    -> tensor<2x4x16xf32> {
  %init = tensor.empty() : tensor<2x4x16xf32>
  %y = clus.pool %z, %x outs(%init)
      : tensor<2x4x10xf32>, tensor<2x10x16xf32> -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.pool"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %fill, %split, %merge, %loop =
        transform.structured.tile_reduction_using_for %op by tile_sizes = [0, 0, 0, 4]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// f16 with dynamic dims: the chunks are widened to f32, accumulated in f32
// and rounded once, by the merge.
// CHECK-LABEL: func.func @pool_split_f16_dynamic
// CHECK-SAME:    %[[INIT:[^:]+]]: tensor<?x4x16xf16>)
// CHECK:         %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x4x16xf32>)
// CHECK:         %[[PARTIAL:.+]] = scf.for {{.+}} step %{{.+}} iter_args(%{{.+}} = %[[ZERO]]) -> (tensor<?x4x16xf32>)
// CHECK:           linalg.generic {{.+}} ins(%{{.+}} : tensor<?x4x?xf16>) outs(%{{.+}} : tensor<?x4x?xf32>)
// CHECK:             arith.extf
// CHECK:           linalg.generic {{.+}} ins(%{{.+}} : tensor<?x?x16xf16>) outs(%{{.+}} : tensor<?x?x16xf32>)
// CHECK:             arith.extf
// CHECK:           clus.pool %{{.+}}, %{{.+}} outs(%{{.+}}) : tensor<?x4x?xf32>, tensor<?x?x16xf32> -> tensor<?x4x16xf32>
// CHECK:             arith.addf
// CHECK:           scf.yield
// CHECK:         %[[Y:.+]] = linalg.generic {{.+}} ins(%[[PARTIAL]] : tensor<?x4x16xf32>) outs(%[[INIT]] : tensor<?x4x16xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[Y]]
func.func @pool_split_f16_dynamic(%z: tensor<?x4x?xf16>, %x: tensor<?x?x16xf16>,
                                  %init: tensor<?x4x16xf16>) -> tensor<?x4x16xf16> {
  %y = clus.pool %z, %x outs(%init)
      : tensor<?x4x?xf16>, tensor<?x?x16xf16> -> tensor<?x4x16xf16>
  return %y : tensor<?x4x16xf16>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.pool"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %fill, %split, %merge, %loop =
        transform.structured.tile_reduction_using_for %op by tile_sizes = [0, 0, 0, 32]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// attention, flash-decoding style: the partials are the unnormalised
// accumulator (0), the running max of the scaled scores (-inf) and the
// running sum of exponentials (0). A chunk of keys raises the max to m',
// rescales the sum and the accumulator by exp(m - m') and adds its own
// terms; the merge divides the accumulator by the sum.
// CHECK-LABEL: func.func @attention_split
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG:     %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:     %[[INIT:.+]] = tensor.empty() : tensor<1x2x8x8xf32>
// CHECK-DAG:     %[[ACC0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x2x8x8xf32>)
// CHECK-DAG:     %[[MAX0:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<1x2x8xf32>)
// CHECK-DAG:     %[[SUM0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x2x8xf32>)
// CHECK:         %[[R:.+]]:3 = scf.for {{.+}} iter_args(%[[ACC:.+]] = %[[ACC0]], %[[MAX:.+]] = %[[MAX0]], %[[SUM:.+]] = %[[SUM0]])
// CHECK:           %[[DOT:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:           %[[S:.+]] = linalg.generic {{.+}} ins(%[[DOT]] : tensor<1x2x8x?xf32>)
// CHECK:             arith.mulf %{{.+}}, %[[SCALE]]
// CHECK:           %[[NEWMAX:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[S]] : tensor<1x2x8x?xf32>) outs(%[[MAX]] : tensor<1x2x8xf32>)
// CHECK:             arith.maximumf
// CHECK:           %[[P:.+]] = linalg.generic {{.+}} ins(%[[S]], %[[NEWMAX]] : tensor<1x2x8x?xf32>, tensor<1x2x8xf32>)
// CHECK:             arith.subf
// CHECK:             math.exp
// CHECK:           %[[RESCALE:.+]] = linalg.generic {{.+}} ins(%[[MAX]], %[[NEWMAX]] : tensor<1x2x8xf32>, tensor<1x2x8xf32>)
// CHECK:             arith.subf
// CHECK:             math.exp
// CHECK:           %[[SUMR:.+]] = linalg.generic {{.+}} ins(%[[SUM]], %[[RESCALE]] : tensor<1x2x8xf32>, tensor<1x2x8xf32>)
// CHECK:           %[[NEWSUM:.+]] = linalg.generic {{.+}} ins(%[[P]] : tensor<1x2x8x?xf32>) outs(%[[SUMR]] : tensor<1x2x8xf32>)
// CHECK:           %[[ACCR:.+]] = linalg.generic {{.+}} ins(%[[ACC]], %[[RESCALE]] : tensor<1x2x8x8xf32>, tensor<1x2x8xf32>)
// CHECK:           %[[NEWACC:.+]] = linalg.generic {{.+}} ins(%[[P]], %{{.+}} : tensor<1x2x8x?xf32>, tensor<1x2x?x8xf32>) outs(%[[ACCR]] : tensor<1x2x8x8xf32>)
// CHECK:           scf.yield %[[NEWACC]], %[[NEWMAX]], %[[NEWSUM]]
// CHECK:         %[[O:.+]] = linalg.generic {{.+}} ins(%[[R]]#0, %[[R]]#2 : tensor<1x2x8x8xf32>, tensor<1x2x8xf32>) outs(%{{.+}} : tensor<1x2x8x8xf32>)
// CHECK:           arith.divf
// CHECK:         return %[[O]]
func.func @attention_split(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x10x16xf32>,
                           %v: tensor<1x2x10x8xf32>) -> tensor<1x2x8x8xf32> {
  %init = tensor.empty() : tensor<1x2x8x8xf32>
  %o = clus.attention %q, [%k, %v] outs(%init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x10x16xf32>, tensor<1x2x10x8xf32>]
      -> tensor<1x2x8x8xf32>
  return %o : tensor<1x2x8x8xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.attention"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %fill:3, %split, %merge, %loop =
        transform.structured.tile_reduction_using_for %op by tile_sizes = [0, 0, 0, 4]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    %cleanup = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %cleanup {
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.yield
  }
}

// -----

// With several scales, each has its own softmax over its own keys: there is
// no one reduction to split, and attention's domain has no reduction dim.
func.func @attention_two_scales(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x4x16xf32>,
                                %v: tensor<1x1x4x16xf32>) -> tensor<1x1x8x16xf32> {
  %init = tensor.empty() : tensor<1x1x8x16xf32>
  // expected-error @+1 {{'clus.attention' op has no reduction that can be split: each of its key/value scales has its own softmax}}
  %o = clus.attention %q, [%k, %v], [%k, %v] outs(%init)
      : tensor<1x1x8x16xf32>, [tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>],
        [tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>] -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.attention"]} in %root
        : (!transform.any_op) -> !transform.any_op
    // expected-error @+2 {{failed to tile using partial reduction}}
    %fill:3, %split, %merge, %loop =
        transform.structured.tile_reduction_using_for %op by tile_sizes = [0, 0, 0, 2]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Full-reduction tiling of the tokens would let each tile overwrite the
// whole result: it is refused.
func.func @pool_full_reduction_tiling(%z: tensor<2x4x10xf32>, %x: tensor<2x10x16xf32>)
    -> tensor<2x4x16xf32> {
  %init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+3 {{'clus.pool' op cannot tile its reduction dim #3 with full-reduction tiling (a tile writes its whole result); split it with a partial reduction (transform.structured.tile_reduction_using_for)}}
  // expected-error @+2 {{faild to tile operation}}
  // expected-error @+1 {{failed to generate tiling loops}}
  %y = clus.pool %z, %x outs(%init)
      : tensor<2x4x10xf32>, tensor<2x10x16xf32> -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.pool"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_for %op tile_sizes [0, 0, 0, 4]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// The split runs as a loop over chunks (outer reduction); the variant that
// distributes the chunks over threads (tile_reduction_using_forall) would
// need a partial per thread, which the interface's methods do not make.
func.func @pool_forall(%z: tensor<2x4x10xf32>, %x: tensor<2x10x16xf32>)
    -> tensor<2x4x16xf32> {
  %init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+3 {{'clus.pool' op splits its reduction only with the outer-reduction strategy (a loop over chunks, tile_reduction_using_for)}}
  // expected-error @+2 {{faild to tile operation}}
  // expected-error @+1 {{failed to generate tiling loops}}
  %y = clus.pool %z, %x outs(%init)
      : tensor<2x4x10xf32>, tensor<2x10x16xf32> -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["clus.pool"]} in %root
        : (!transform.any_op) -> !transform.any_op
    // expected-error @+2 {{could not tile reduction}}
    %fill, %split, %merge, %loop =
        transform.structured.tile_reduction_using_forall %op by num_threads = [0, 0, 0, 2]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s --check-prefix=NOCLUS

// clus.kmeans lowers to the initial centroids (μ⁰[m] = X[floor(m·N/M)]
// through a guarded gather, or `init`), then an scf.for from 0 to
// `iterations` carrying (centroids, assign). Each iteration computes the
// [B, N, M] distances, an argmin over m (strict `olt`, so ties keep the
// lower m), masked segment sums and counts, and the new centroids
// (mean where count > 0, else the previous centroid). The loop's results are
// returned as (assign, centroids).

// NOCLUS-NOT: clus.

// CHECK-DAG: #[[$XN:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$MUM:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$DNM:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @kmeans_l2_default_init
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<1x6x2xf32>)
// CHECK-DAG:     %[[N:.+]] = arith.constant 6 : index
// CHECK-DAG:     %[[M:.+]] = arith.constant 2 : index
// μ⁰: row floor(m·N/M) of X, read under a 0 <= row < N guard.
// CHECK:         %[[MU0:.+]] = linalg.generic
// CHECK-SAME:      outs(%{{.+}} : tensor<1x2x2xf32>)
// CHECK:           %[[MIDX:.+]] = linalg.index 1 : index
// CHECK-NEXT:      %[[MN:.+]] = arith.muli %[[MIDX]], %[[N]] : index
// CHECK-NEXT:      %[[ROW:.+]] = arith.divui %[[MN]], %[[M]] : index
// CHECK:           %[[GE:.+]] = arith.cmpi sge
// CHECK-NEXT:      %[[LT:.+]] = arith.cmpi slt
// CHECK-NEXT:      %[[OK:.+]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK:           scf.if %[[OK]] -> (f32) {
// CHECK-NEXT:        tensor.extract %[[X]][%{{.+}}, %[[ROW]], %{{.+}}] : tensor<1x6x2xf32>
// CHECK:         %[[A0:.+]] = linalg.fill ins(%{{.+}} : i32) outs(%{{.+}} : tensor<1x6xi32>)
// The trip count is `iterations` = 3.
// CHECK-DAG:     %[[LB:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[UB:.+]] = arith.constant 3 : index
// CHECK-DAG:     %[[STEP:.+]] = arith.constant 1 : index
// CHECK:         %[[LOOP:.+]]:2 = scf.for %{{.+}} = %[[LB]] to %[[UB]] step %[[STEP]] iter_args(%[[MU:.+]] = %[[MU0]], %{{.+}} = %[[A0]]) -> (tensor<1x2x2xf32>, tensor<1x6xi32>) {
// Squared l2 distances [B, N, M], c reduced.
// CHECK:           %[[DIST:.+]] = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$XN]], #[[$MUM]], #[[$DNM]]]
// CHECK-SAME:        iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:        ins(%[[X]], %[[MU]] : tensor<1x6x2xf32>, tensor<1x2x2xf32>) outs(%{{.+}} : tensor<1x6x2xf32>)
// CHECK:             %[[DIFF:.+]] = arith.subf
// CHECK-NEXT:        arith.mulf %[[DIFF]], %[[DIFF]] : f32
// Argmin over m: value and index, strict less-than.
// CHECK:           %[[INF:.+]] = arith.constant 0x7F800000 : f32
// CHECK-NEXT:      %[[BEST0:.+]] = linalg.fill ins(%[[INF]] : f32) outs(%{{.+}} : tensor<1x6xf32>)
// CHECK:           %[[ARG:.+]]:2 = linalg.generic
// CHECK-SAME:        iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:        ins(%[[DIST]] : tensor<1x6x2xf32>) outs(%[[BEST0]], %{{.+}} : tensor<1x6xf32>, tensor<1x6xi32>)
// CHECK:             %[[BETTER:.+]] = arith.cmpf olt
// CHECK:             arith.select %[[BETTER]]
// CHECK:             arith.select %[[BETTER]]
// Segment sums and counts of the new assignment.
// CHECK:           %[[SUMS:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[X]], %[[ARG]]#1 : tensor<1x6x2xf32>, tensor<1x6xi32>) outs(%{{.+}} : tensor<1x2x2xf32>)
// CHECK:             arith.cmpi eq
// CHECK:           %[[COUNTS:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[ARG]]#1 : tensor<1x6xi32>) outs(%{{.+}} : tensor<1x2xf32>)
// Update: mean where the cluster is non-empty, else keep μ^{t-1}. μ^{t-1} is
// read, never written: in the first iteration it is the caller's `init`.
// CHECK:           %[[NEW:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[SUMS]], %[[COUNTS]], %[[MU]] : tensor<1x2x2xf32>, tensor<1x2xf32>, tensor<1x2x2xf32>) outs(%{{.+}} : tensor<1x2x2xf32>)
// CHECK-NEXT:      ^bb0(%[[S:[^:]+]]: f32, %[[C:[^:]+]]: f32, %[[OLD:[^:]+]]: f32, %{{.+}}: f32):
// CHECK:             %[[NONEMPTY:.+]] = arith.cmpf ogt, %[[C]], %{{.+}} : f32
// CHECK-NEXT:        %[[MEAN:.+]] = arith.divf %[[S]], %[[C]] : f32
// CHECK-NEXT:        %[[SEL:.+]] = arith.select %[[NONEMPTY]], %[[MEAN]], %[[OLD]] : f32
// CHECK-NEXT:        linalg.yield %[[SEL]] : f32
// CHECK:           scf.yield %[[NEW]], %[[ARG]]#1 : tensor<1x2x2xf32>, tensor<1x6xi32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[LOOP]]#1, %[[LOOP]]#0 : tensor<1x6xi32>, tensor<1x2x2xf32>
func.func @kmeans_l2_default_init(%x: tensor<1x6x2xf32>) -> (tensor<1x6xi32>, tensor<1x2x2xf32>) {
  %a_init = tensor.empty() : tensor<1x6xi32>
  %c_init = tensor.empty() : tensor<1x2x2xf32>
  %a, %c = clus.kmeans %x clusters = 2 iterations = 3 outs(%a_init, %c_init)
      : tensor<1x6x2xf32> -> tensor<1x6xi32>, tensor<1x2x2xf32>
  return %a, %c : tensor<1x6xi32>, tensor<1x2x2xf32>
}

// -----

// cosine on dynamic f16 with `init`: X and init are extended to f32, the
// token rows are normalised once before the loop (sqrt, max with 1e-12,
// divide), the centroids are normalised inside the loop before every
// distance, the distance is 1 - x̂·μ̂, the loop runs 7 times, and the
// centroids are truncated back to f16 after it.

// CHECK-LABEL: func.func @kmeans_cosine_init_f16_dynamic
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<?x?x?xf16>, %[[INIT:[^:]+]]: tensor<?x3x?xf16>, %{{[^:]+}}: tensor<?x?xi32>, %{{[^:]+}}: tensor<?x3x?xf16>)
// CHECK:         tensor.dim %[[X]]
// CHECK:         %[[XF:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[X]] : tensor<?x?x?xf16>) outs(%{{.+}} : tensor<?x?x?xf32>)
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:         %[[SUMSQ:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[XF]] : tensor<?x?x?xf32>) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:         %[[PTS:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[XF]], %[[SUMSQ]] : tensor<?x?x?xf32>, tensor<?x?xf32>)
// CHECK:           %[[NORM:.+]] = math.sqrt
// CHECK-NEXT:      %[[EPS:.+]] = arith.constant 9.99999996E-13 : f32
// CHECK-NEXT:      %[[CL:.+]] = arith.maximumf %[[NORM]], %[[EPS]] : f32
// CHECK-NEXT:      arith.divf %{{.+}}, %[[CL]] : f32
// CHECK:         %[[MU0:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[INIT]] : tensor<?x3x?xf16>) outs(%{{.+}} : tensor<?x3x?xf32>)
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:         %[[UB:.+]] = arith.constant 7 : index
// CHECK:         %[[LOOP:.+]]:2 = scf.for %{{.+}} = %{{.+}} to %[[UB]] step %{{.+}} iter_args(%[[MU:.+]] = %[[MU0]], %{{.+}} = %{{.+}}) -> (tensor<?x3x?xf32>, tensor<?x?xi32>) {
// CHECK:           %[[MUSQ:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[MU]] : tensor<?x3x?xf32>)
// CHECK:           %[[MUN:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[MU]], %[[MUSQ]] : tensor<?x3x?xf32>, tensor<?x3xf32>)
// CHECK:             math.sqrt
// CHECK:           %[[DOT:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[PTS]], %[[MUN]] : tensor<?x?x?xf32>, tensor<?x3x?xf32>) outs(%{{.+}} : tensor<?x?x3xf32>)
// CHECK-NEXT:      ^bb0(%[[P:[^:]+]]: f32, %[[Q:[^:]+]]: f32, %[[ACC:[^:]+]]: f32):
// CHECK-NEXT:        %[[PQ:.+]] = arith.mulf %[[P]], %[[Q]] : f32
// CHECK-NEXT:        arith.addf %[[ACC]], %[[PQ]] : f32
// CHECK:           linalg.generic
// CHECK-SAME:        outs(%[[DOT]] : tensor<?x?x3xf32>)
// CHECK-NEXT:      ^bb0(%[[D:[^:]+]]: f32):
// CHECK-NEXT:        %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:        arith.subf %[[ONE]], %[[D]] : f32
// CHECK:             arith.cmpf olt
// The update averages the normalised rows.
// CHECK:           linalg.generic
// CHECK-SAME:        ins(%[[PTS]], %{{.+}} : tensor<?x?x?xf32>, tensor<?x?xi32>)
// CHECK:           scf.yield
// CHECK:         %[[C:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[LOOP]]#0 : tensor<?x3x?xf32>) outs(%{{.+}} : tensor<?x3x?xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[LOOP]]#1, %[[C]] : tensor<?x?xi32>, tensor<?x3x?xf16>
func.func @kmeans_cosine_init_f16_dynamic(%x: tensor<?x?x?xf16>, %mu: tensor<?x3x?xf16>, %a_init: tensor<?x?xi32>, %c_init: tensor<?x3x?xf16>) -> (tensor<?x?xi32>, tensor<?x3x?xf16>) {
  %a, %c = clus.kmeans %x init(%mu : tensor<?x3x?xf16>) clusters = 3 iterations = 7 metric = cosine outs(%a_init, %c_init)
      : tensor<?x?x?xf16> -> tensor<?x?xi32>, tensor<?x3x?xf16>
  return %a, %c : tensor<?x?xi32>, tensor<?x3x?xf16>
}

// -----

// bf16, one iteration, dynamic N with the default init: the μ⁰ gather is
// bounded by tensor.dim of N, and the trip count is 1.

// CHECK-LABEL: func.func @kmeans_bf16_one_iteration
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<2x?x4xbf16>, %{{[^:]+}}: tensor<2x?xi32>)
// CHECK:         %[[XF:.+]] = linalg.generic
// CHECK:           arith.extf %{{.+}} : bf16 to f32
// CHECK:         %[[N:.+]] = tensor.dim %[[XF]], %{{.+}} : tensor<2x?x4xf32>
// CHECK:         linalg.generic
// CHECK-SAME:      outs(%{{.+}} : tensor<2x5x4xf32>)
// CHECK:           arith.muli %{{.+}}, %[[N]] : index
// CHECK:           %[[NI:.+]] = arith.index_cast %[[N]] : index to i32
// CHECK:           arith.cmpi slt, %{{.+}}, %[[NI]] : i32
// CHECK:           scf.if
// CHECK-NEXT:        tensor.extract %[[XF]]
// The upper bound is the index constant 1 (SSA name %c1 or %c1_<n>).
// CHECK:         scf.for %{{.+}} = %c0{{(_[0-9]+)?}} to %c1{{(_[0-9]+)?}} step %c1{{(_[0-9]+)?}} iter_args
// CHECK:         arith.truncf %{{.+}} : f32 to bf16
// CHECK:         return %{{.+}}, %{{.+}} : tensor<2x?xi32>, tensor<2x5x4xbf16>
func.func @kmeans_bf16_one_iteration(%x: tensor<2x?x4xbf16>, %a_init: tensor<2x?xi32>) -> (tensor<2x?xi32>, tensor<2x5x4xbf16>) {
  %c_init = tensor.empty() : tensor<2x5x4xbf16>
  %a, %c = clus.kmeans %x clusters = 5 iterations = 1 outs(%a_init, %c_init)
      : tensor<2x?x4xbf16> -> tensor<2x?xi32>, tensor<2x5x4xbf16>
  return %a, %c : tensor<2x?xi32>, tensor<2x5x4xbf16>
}

// -----

// B is static only in `init`: the lowering sizes its tensors from X and casts
// the results to the inferred static types.

// CHECK-LABEL: func.func @kmeans_refined_result_types
// CHECK:         %[[LOOP:.+]]:2 = scf.for
// CHECK-SAME:      -> (tensor<1x?x2xf32>, tensor<?x6xi32>)
// CHECK-DAG:     %[[A:.+]] = tensor.cast %[[LOOP]]#1 : tensor<?x6xi32> to tensor<1x6xi32>
// CHECK-DAG:     %[[C:.+]] = tensor.cast %[[LOOP]]#0 : tensor<1x?x2xf32> to tensor<1x2x2xf32>
// CHECK:         return %[[A]], %[[C]] : tensor<1x6xi32>, tensor<1x2x2xf32>
func.func @kmeans_refined_result_types(%x: tensor<?x6x?xf32>, %mu: tensor<1x?x2xf32>) -> (tensor<1x6xi32>, tensor<1x2x2xf32>) {
  %a_init = tensor.empty() : tensor<1x6xi32>
  %c_init = tensor.empty() : tensor<1x2x2xf32>
  %a, %c = clus.kmeans %x init(%mu : tensor<1x?x2xf32>) clusters = 2 iterations = 1 outs(%a_init, %c_init)
      : tensor<?x6x?xf32> -> tensor<1x6xi32>, tensor<1x2x2xf32>
  return %a, %c : tensor<1x6xi32>, tensor<1x2x2xf32>
}

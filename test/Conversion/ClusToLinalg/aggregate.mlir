// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s --check-prefix=NOCLUS

// clus.aggregate lowers to masked segment sums over loops (b, m, c, n), n
// reduced: token n contributes to row m only when assign[n] == m, compared
// against the loop index m in [0, M). That comparison is the range guard:
// assign entries outside [0, M) never match, and `assign` is never used to
// index memory (no tensor.extract through it). Sums and counts are f32.

// NOCLUS-NOT: clus.

// CHECK-DAG: #[[$XMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[$AMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[$YMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @aggregate_sum_f32
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<2x7x3xf32>, %[[A:[^:]+]]: tensor<2x7xi32>)
// CHECK-NOT:     tensor.extract
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x4x3xf32>)
// CHECK:         %[[Y:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$XMAP]], #[[$AMAP]], #[[$YMAP]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[X]], %[[A]] : tensor<2x7x3xf32>, tensor<2x7xi32>)
// CHECK-SAME:      outs(%[[ACC]] : tensor<2x4x3xf32>)
// CHECK-NEXT:    ^bb0(%[[XV:[^:]+]]: f32, %[[AV:[^:]+]]: i32, %[[OUT:[^:]+]]: f32):
// CHECK-NEXT:      %[[M:.+]] = linalg.index 1 : index
// CHECK-NEXT:      %[[MI:.+]] = arith.index_cast %[[M]] : index to i32
// CHECK-NEXT:      %[[HIT:.+]] = arith.cmpi eq, %[[AV]], %[[MI]] : i32
// CHECK-NEXT:      %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[C:.+]] = arith.select %[[HIT]], %[[XV]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[S:.+]] = arith.addf %[[OUT]], %[[C]] : f32
// CHECK-NEXT:      linalg.yield %[[S]] : f32
// CHECK-NOT:     tensor.extract
// CHECK-NOT:     arith.divf
// CHECK:         return %[[Y]] : tensor<2x4x3xf32>
func.func @aggregate_sum_f32(%x: tensor<2x7x3xf32>, %a: tensor<2x7xi32>) -> tensor<2x4x3xf32> {
  %y_init = tensor.empty() : tensor<2x4x3xf32>
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<2x7x3xf32>, tensor<2x7xi32> -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

// -----

// mean on dynamic f16: the sums and the counts are masked the same way; the
// mean divides by max(count, 1) and truncates to f16. B and C come from
// tensor.dim, M = 4 from the attribute.

// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$CNTA:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @aggregate_mean_f16_dynamic
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<?x?x?xf16>, %[[A:[^:]+]]: tensor<?x?xi32>, %{{[^:]+}}: tensor<?x4x?xf16>)
// CHECK-NOT:     tensor.extract
// CHECK-DAG:     %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x?xf16>
// CHECK-DAG:     %[[C:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x?xf16>
// CHECK:         tensor.empty(%[[B]], %[[C]]) : tensor<?x4x?xf32>
// CHECK:         %[[SUMS:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[X]], %[[A]] : tensor<?x?x?xf16>, tensor<?x?xi32>)
// CHECK:           %[[HIT:.+]] = arith.cmpi eq, %{{.+}}, %{{.+}} : i32
// CHECK:           %[[XE:.+]] = arith.extf %{{.+}} : f16 to f32
// CHECK:           arith.select %[[HIT]], %[[XE]], %{{.+}} : f32
// CHECK:         %[[COUNTS:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$CNTA]], #[[$ROW]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[A]] : tensor<?x?xi32>) outs(%{{.+}} : tensor<?x4xf32>)
// CHECK:           %[[HIT2:.+]] = arith.cmpi eq, %{{.+}}, %{{.+}} : i32
// CHECK:           %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK:           arith.select %[[HIT2]], %[[ONE]], %{{.+}} : f32
// CHECK:         %[[MEAN:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ID]]]
// CHECK-SAME:      ins(%[[SUMS]], %[[COUNTS]] : tensor<?x4x?xf32>, tensor<?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[S:[^:]+]]: f32, %[[N:[^:]+]]: f32, %{{.+}}: f32):
// CHECK-NEXT:      %[[ONE2:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[DEN:.+]] = arith.maximumf %[[N]], %[[ONE2]] : f32
// CHECK-NEXT:      arith.divf %[[S]], %[[DEN]] : f32
// CHECK:         %[[R:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[MEAN]] : tensor<?x4x?xf32>) outs(%{{.+}} : tensor<?x4x?xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[R]] : tensor<?x4x?xf16>
func.func @aggregate_mean_f16_dynamic(%x: tensor<?x?x?xf16>, %a: tensor<?x?xi32>, %y_init: tensor<?x4x?xf16>) -> tensor<?x4x?xf16> {
  %y = clus.aggregate %x, %a clusters = 4 reduction = mean outs(%y_init)
      : tensor<?x?x?xf16>, tensor<?x?xi32> -> tensor<?x4x?xf16>
  return %y : tensor<?x4x?xf16>
}

// -----

// weighted_mean on bf16 with eps = 1e-5: the weighted sums multiply the
// extended row by the extended weight, the denominators sum the weights, and
// the result is sum / (wsum + eps).

// CHECK-LABEL: func.func @aggregate_weighted_mean_bf16
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<1x7x3xbf16>, %[[A:[^:]+]]: tensor<1x7xi32>, %[[W:[^:]+]]: tensor<1x7xbf16>)
// CHECK-NOT:     tensor.extract
// CHECK:         %[[SUMS:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[X]], %[[A]], %[[W]] : tensor<1x7x3xbf16>, tensor<1x7xi32>, tensor<1x7xbf16>)
// CHECK-SAME:      outs(%{{.+}} : tensor<1x4x3xf32>)
// CHECK:           %[[HIT:.+]] = arith.cmpi eq
// CHECK:           %[[XE:.+]] = arith.extf %{{.+}} : bf16 to f32
// CHECK:           %[[WE:.+]] = arith.extf %{{.+}} : bf16 to f32
// CHECK:           %[[XW:.+]] = arith.mulf %[[XE]], %[[WE]] : f32
// CHECK:           arith.select %[[HIT]], %[[XW]], %{{.+}} : f32
// CHECK:         %[[WSUM:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[A]], %[[W]] : tensor<1x7xi32>, tensor<1x7xbf16>) outs(%{{.+}} : tensor<1x4xf32>)
// CHECK:           %[[HIT2:.+]] = arith.cmpi eq
// CHECK:           %[[WE2:.+]] = arith.extf %{{.+}} : bf16 to f32
// CHECK:           arith.select %[[HIT2]], %[[WE2]], %{{.+}} : f32
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[SUMS]], %[[WSUM]] : tensor<1x4x3xf32>, tensor<1x4xf32>)
// CHECK-NEXT:    ^bb0(%[[S:[^:]+]]: f32, %[[N:[^:]+]]: f32, %{{.+}}: f32):
// CHECK-NEXT:      %[[EPS:.+]] = arith.constant 9.99999974E-6 : f32
// CHECK-NEXT:      %[[DEN:.+]] = arith.addf %[[N]], %[[EPS]] : f32
// CHECK-NEXT:      arith.divf %[[S]], %[[DEN]] : f32
// CHECK:           arith.truncf %{{.+}} : f32 to bf16
// CHECK:         return %{{.+}} : tensor<1x4x3xbf16>
func.func @aggregate_weighted_mean_bf16(%x: tensor<1x7x3xbf16>, %a: tensor<1x7xi32>, %w: tensor<1x7xbf16>) -> tensor<1x4x3xbf16> {
  %y_init = tensor.empty() : tensor<1x4x3xbf16>
  %y = clus.aggregate %x, %a weights(%w : tensor<1x7xbf16>) clusters = 4 reduction = weighted_mean eps = 1.0e-05 outs(%y_init)
      : tensor<1x7x3xbf16>, tensor<1x7xi32> -> tensor<1x4x3xbf16>
  return %y : tensor<1x4x3xbf16>
}

// -----

// weighted_mean with the default eps (1e-6) on f32: no truncation.

// CHECK-LABEL: func.func @aggregate_weighted_mean_default_eps
// CHECK:         arith.constant 9.99999997E-7 : f32
// CHECK-NOT:     arith.truncf
// CHECK:         return %{{.+}} : tensor<2x3x5xf32>
func.func @aggregate_weighted_mean_default_eps(%x: tensor<2x6x5xf32>, %a: tensor<2x6xi32>, %w: tensor<2x6xf32>) -> tensor<2x3x5xf32> {
  %y_init = tensor.empty() : tensor<2x3x5xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<2x6xf32>) clusters = 3 reduction = weighted_mean outs(%y_init)
      : tensor<2x6x5xf32>, tensor<2x6xi32> -> tensor<2x3x5xf32>
  return %y : tensor<2x3x5xf32>
}

// -----

// B and N are static only in `assign`: the result is cast to the inferred
// static type.

// CHECK-LABEL: func.func @aggregate_refined_result_type
// CHECK:         %[[Y:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<?x4x3xf32>)
// CHECK:         %[[C:.+]] = tensor.cast %[[Y]] : tensor<?x4x3xf32> to tensor<2x4x3xf32>
// CHECK-NEXT:    return %[[C]] : tensor<2x4x3xf32>
func.func @aggregate_refined_result_type(%x: tensor<?x?x3xf32>, %a: tensor<2x7xi32>) -> tensor<2x4x3xf32> {
  %y_init = tensor.empty() : tensor<2x4x3xf32>
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<?x?x3xf32>, tensor<2x7xi32> -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

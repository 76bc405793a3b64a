// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s --check-prefix=NOCLUS

// clus.pool lowers to one contraction Y[b,m,c] += Z[b,m,n] * X[b,n,c] over
// loops (b, m, c, n) with n the only reduction, accumulated in f32; narrow
// element types are extended in the payload and truncated once at the end.

// NOCLUS-NOT: clus.

// CHECK-DAG: #[[$ZMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$XMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[$YMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @pool_f32
// CHECK-SAME:    (%[[Z:[^:]+]]: tensor<2x4x8xf32>, %[[X:[^:]+]]: tensor<2x8x3xf32>)
// CHECK-NOT:     tensor.dim
// CHECK:         %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<2x4x3xf32>)
// CHECK:         %[[Y:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ZMAP]], #[[$XMAP]], #[[$YMAP]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[Z]], %[[X]] : tensor<2x4x8xf32>, tensor<2x8x3xf32>)
// CHECK-SAME:      outs(%[[ACC]] : tensor<2x4x3xf32>)
// CHECK-NEXT:    ^bb0(%[[A:[^:]+]]: f32, %[[B:[^:]+]]: f32, %[[OUT:[^:]+]]: f32):
// CHECK-NEXT:      %[[P:.+]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:      %[[S:.+]] = arith.addf %[[OUT]], %[[P]] : f32
// CHECK-NEXT:      linalg.yield %[[S]] : f32
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[Y]] : tensor<2x4x3xf32>
func.func @pool_f32(%z: tensor<2x4x8xf32>, %x: tensor<2x8x3xf32>) -> tensor<2x4x3xf32> {
  %y_init = tensor.empty() : tensor<2x4x3xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf32>, tensor<2x8x3xf32> -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

// -----

// f16 storage: the contraction reads f16, accumulates into an f32 tensor, and
// a final elementwise generic truncates to f16.

// CHECK-DAG: #[[$ZMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$XMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[$YMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @pool_f16
// CHECK-SAME:    (%[[Z:[^:]+]]: tensor<2x4x8xf16>, %[[X:[^:]+]]: tensor<2x8x3xf16>)
// CHECK:         %[[INIT:.+]] = tensor.empty() : tensor<2x4x3xf16>
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x4x3xf32>)
// CHECK:         %[[Y:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ZMAP]], #[[$XMAP]], #[[$YMAP]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[Z]], %[[X]] : tensor<2x4x8xf16>, tensor<2x8x3xf16>)
// CHECK-SAME:      outs(%[[ACC]] : tensor<2x4x3xf32>)
// CHECK-NEXT:    ^bb0(%[[A:[^:]+]]: f16, %[[B:[^:]+]]: f16, %[[OUT:[^:]+]]: f32):
// CHECK-NEXT:      %[[AE:.+]] = arith.extf %[[A]] : f16 to f32
// CHECK-NEXT:      %[[BE:.+]] = arith.extf %[[B]] : f16 to f32
// CHECK-NEXT:      %[[P:.+]] = arith.mulf %[[AE]], %[[BE]] : f32
// CHECK-NEXT:      %[[S:.+]] = arith.addf %[[OUT]], %[[P]] : f32
// CHECK-NEXT:      linalg.yield %[[S]] : f32
// CHECK:         %[[R:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$ID]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:      ins(%[[Y]] : tensor<2x4x3xf32>) outs(%[[INIT]] : tensor<2x4x3xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[R]] : tensor<2x4x3xf16>
func.func @pool_f16(%z: tensor<2x4x8xf16>, %x: tensor<2x8x3xf16>) -> tensor<2x4x3xf16> {
  %y_init = tensor.empty() : tensor<2x4x3xf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf16>, tensor<2x8x3xf16> -> tensor<2x4x3xf16>
  return %y : tensor<2x4x3xf16>
}

// -----

// Fully dynamic bf16: the result sizes B, M come from Z and C from X.

// CHECK-LABEL: func.func @pool_bf16_dynamic
// CHECK-SAME:    (%[[Z:[^:]+]]: tensor<?x?x?xbf16>, %[[X:[^:]+]]: tensor<?x?x?xbf16>, %{{[^:]+}}: tensor<?x?x?xbf16>)
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG:     %[[B:.+]] = tensor.dim %[[Z]], %[[C0]] : tensor<?x?x?xbf16>
// CHECK-DAG:     %[[M:.+]] = tensor.dim %[[Z]], %[[C1]] : tensor<?x?x?xbf16>
// CHECK-DAG:     %[[C:.+]] = tensor.dim %[[X]], %[[C2]] : tensor<?x?x?xbf16>
// CHECK:         %[[E:.+]] = tensor.empty(%[[B]], %[[M]], %[[C]]) : tensor<?x?x?xf32>
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E]] : tensor<?x?x?xf32>)
// CHECK:         %[[Y:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[Z]], %[[X]] : tensor<?x?x?xbf16>, tensor<?x?x?xbf16>)
// CHECK-SAME:      outs(%[[ACC]] : tensor<?x?x?xf32>)
// CHECK-COUNT-2:   arith.extf %{{.+}} : bf16 to f32
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[Y]] : tensor<?x?x?xf32>)
// CHECK:           arith.truncf %{{.+}} : f32 to bf16
// CHECK:         return %{{.+}} : tensor<?x?x?xbf16>
func.func @pool_bf16_dynamic(%z: tensor<?x?x?xbf16>, %x: tensor<?x?x?xbf16>, %y_init: tensor<?x?x?xbf16>) -> tensor<?x?x?xbf16> {
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x?x?xbf16>, tensor<?x?x?xbf16> -> tensor<?x?x?xbf16>
  return %y : tensor<?x?x?xbf16>
}

// -----

// Only the reduced dim N is dynamic: the result is static and no tensor.dim
// is needed.

// CHECK-LABEL: func.func @pool_dynamic_tokens
// CHECK-NOT:     tensor.dim
// CHECK:         %[[Y:.+]] = linalg.generic
// CHECK-SAME:      ins(%{{.+}}, %{{.+}} : tensor<2x4x?xf32>, tensor<2x?x3xf32>)
// CHECK-SAME:      outs(%{{.+}} : tensor<2x4x3xf32>)
// CHECK:         return %[[Y]] : tensor<2x4x3xf32>
func.func @pool_dynamic_tokens(%z: tensor<2x4x?xf32>, %x: tensor<2x?x3xf32>) -> tensor<2x4x3xf32> {
  %y_init = tensor.empty() : tensor<2x4x3xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x?xf32>, tensor<2x?x3xf32> -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

// -----

// B is static only in X: an f32 result accumulates in its destination, which
// has the result's static type, so no cast is needed.

// CHECK-LABEL: func.func @pool_refined_result_type
// CHECK:         %[[INIT:.+]] = tensor.empty() : tensor<2x4x3xf32>
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[INIT]] : tensor<2x4x3xf32>)
// CHECK:         %[[Y:.+]] = linalg.generic {{.+}} outs(%[[ACC]] : tensor<2x4x3xf32>)
// CHECK-NOT:     tensor.cast
// CHECK:         return %[[Y]] : tensor<2x4x3xf32>
func.func @pool_refined_result_type(%z: tensor<?x4x?xf32>, %x: tensor<2x?x3xf32>) -> tensor<2x4x3xf32> {
  %y_init = tensor.empty() : tensor<2x4x3xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x4x?xf32>, tensor<2x?x3xf32> -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s --check-prefix=NOCLUS

// clus.soft_assign lowers to a three-step stable softmax along one axis of
// [B, M, N]: a max reduction (init -inf), a sum of exp(x - max), and an
// elementwise exp(x - max) / sum. All statistics are f32.

// NOCLUS-NOT: clus.

// axis = tokens: the reduced loop is d2 and the statistics are [B, M].
// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @soft_assign_tokens_f32
// CHECK-SAME:    (%[[L:[^:]+]]: tensor<2x4x7xf32>)
// CHECK:         %[[NINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:         %[[MAXINIT:.+]] = linalg.fill ins(%[[NINF]] : f32) outs(%{{.+}} : tensor<2x4xf32>)
// CHECK:         %[[MAX:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$ROW]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[L]] : tensor<2x4x7xf32>) outs(%[[MAXINIT]] : tensor<2x4xf32>)
// CHECK:           arith.maximumf
// CHECK:         %[[SUMINIT:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x4xf32>)
// CHECK:         %[[SUM:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[L]], %[[MAX]] : tensor<2x4x7xf32>, tensor<2x4xf32>) outs(%[[SUMINIT]] : tensor<2x4xf32>)
// CHECK-NEXT:    ^bb0(%[[X:[^:]+]]: f32, %[[M:[^:]+]]: f32, %[[ACC:[^:]+]]: f32):
// CHECK-NEXT:      %[[D:.+]] = arith.subf %[[X]], %[[M]] : f32
// CHECK-NEXT:      %[[E:.+]] = math.exp %[[D]] : f32
// CHECK-NEXT:      arith.addf %[[ACC]], %[[E]] : f32
// CHECK:         %[[Z:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]], #[[$ID]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:      ins(%[[L]], %[[MAX]], %[[SUM]] : tensor<2x4x7xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
// CHECK-NEXT:    ^bb0(%[[X2:[^:]+]]: f32, %[[M2:[^:]+]]: f32, %[[S2:[^:]+]]: f32, %{{.+}}: f32):
// CHECK-NEXT:      %[[D2:.+]] = arith.subf %[[X2]], %[[M2]] : f32
// CHECK-NEXT:      %[[E2:.+]] = math.exp %[[D2]] : f32
// CHECK-NEXT:      %[[P:.+]] = arith.divf %[[E2]], %[[S2]] : f32
// CHECK-NEXT:      linalg.yield %[[P]] : f32
// CHECK:         return %[[Z]] : tensor<2x4x7xf32>
func.func @soft_assign_tokens_f32(%l: tensor<2x4x7xf32>) -> tensor<2x4x7xf32> {
  %z_init = tensor.empty() : tensor<2x4x7xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<2x4x7xf32>
  return %z : tensor<2x4x7xf32>
}

// -----

// axis = clusters on dynamic bf16: the reduced loop is d1, the statistics are
// [B, N] sized by tensor.dim, bf16 is extended in every payload and the
// probabilities are truncated back to bf16.
// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$COL:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @soft_assign_clusters_bf16_dynamic
// CHECK-SAME:    (%[[L:[^:]+]]: tensor<?x4x?xbf16>, %{{[^:]+}}: tensor<?x4x?xbf16>)
// CHECK-DAG:     %[[B:.+]] = tensor.dim %[[L]], %{{.+}} : tensor<?x4x?xbf16>
// CHECK-DAG:     %[[N:.+]] = tensor.dim %[[L]], %{{.+}} : tensor<?x4x?xbf16>
// CHECK:         tensor.empty(%[[B]], %[[N]]) : tensor<?x?xf32>
// CHECK:         %[[MAX:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$COL]]]
// CHECK-SAME:      iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-SAME:      ins(%[[L]] : tensor<?x4x?xbf16>)
// CHECK-NEXT:    ^bb0(%[[X:[^:]+]]: bf16, %[[ACC:[^:]+]]: f32):
// CHECK-NEXT:      %[[XE:.+]] = arith.extf %[[X]] : bf16 to f32
// CHECK-NEXT:      arith.maximumf %[[XE]], %[[ACC]] : f32
// CHECK:         %[[SUM:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "reduction", "parallel"]
// CHECK:           arith.extf %{{.+}} : bf16 to f32
// CHECK:           math.exp
// CHECK:         %[[Z:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$COL]], #[[$COL]], #[[$ID]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:      ins(%[[L]], %[[MAX]], %[[SUM]] : tensor<?x4x?xbf16>, tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK-SAME:      outs(%{{.+}} : tensor<?x4x?xbf16>)
// CHECK:           arith.extf %{{.+}} : bf16 to f32
// CHECK:           arith.divf
// CHECK:           %[[T:.+]] = arith.truncf %{{.+}} : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[T]] : bf16
// CHECK:         return %[[Z]] : tensor<?x4x?xbf16>
func.func @soft_assign_clusters_bf16_dynamic(%l: tensor<?x4x?xbf16>, %z_init: tensor<?x4x?xbf16>) -> tensor<?x4x?xbf16> {
  %z = clus.soft_assign %l axis = clusters outs(%z_init) : tensor<?x4x?xbf16>
  return %z : tensor<?x4x?xbf16>
}

// -----

// axis = tokens on static f16: three generics, each payload extends f16; the
// last truncates.
// CHECK-LABEL: func.func @soft_assign_tokens_f16
// CHECK-NOT:     tensor.dim
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%{{.+}} : tensor<1x3x5xf16>) outs(%{{.+}} : tensor<1x3xf32>)
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:         %[[Z:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:      outs(%{{.+}} : tensor<1x3x5xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[Z]] : tensor<1x3x5xf16>
func.func @soft_assign_tokens_f16(%l: tensor<1x3x5xf16>) -> tensor<1x3x5xf16> {
  %z_init = tensor.empty() : tensor<1x3x5xf16>
  %z = clus.soft_assign %l axis = tokens outs(%z_init) : tensor<1x3x5xf16>
  return %z : tensor<1x3x5xf16>
}

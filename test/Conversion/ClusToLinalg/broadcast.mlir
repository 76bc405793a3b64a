// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s --check-prefix=NOCLUS

// clus.broadcast lowers to one parallel generic over (b, n, c) reading
// assign[b, n]. The gather Y[b, assign[n], c] happens inside
// `scf.if (0 <= assign[n] && assign[n] < M)`, so an out-of-range index is
// never used to read memory; the else branch yields 0.

// NOCLUS-NOT: clus.

// CHECK-DAG: #[[$AMAP:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @broadcast_f32
// CHECK-SAME:    (%[[Y:[^:]+]]: tensor<2x4x3xf32>, %[[A:[^:]+]]: tensor<2x7xi32>)
// CHECK:         %[[M:.+]] = arith.constant 4 : index
// CHECK:         %[[INIT:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x7x3xf32>)
// CHECK:         %[[X:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$AMAP]], #[[$ID]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:      ins(%[[A]] : tensor<2x7xi32>) outs(%[[INIT]] : tensor<2x7x3xf32>)
// CHECK-NEXT:    ^bb0(%[[I:[^:]+]]: i32, %{{.+}}: f32):
// CHECK-DAG:       %[[ZERO:.+]] = arith.constant 0 : i32
// CHECK-DAG:       %[[MI:.+]] = arith.index_cast %[[M]] : index to i32
// CHECK-DAG:       %[[GE:.+]] = arith.cmpi sge, %[[I]], %[[ZERO]] : i32
// CHECK-DAG:       %[[LT:.+]] = arith.cmpi slt, %[[I]], %[[MI]] : i32
// CHECK-DAG:       %[[OK:.+]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK-DAG:       %[[ROW:.+]] = arith.index_cast %[[I]] : i32 to index
// CHECK-DAG:       %[[B:.+]] = linalg.index 0 : index
// CHECK-DAG:       %[[C:.+]] = linalg.index 2 : index
// CHECK:           %[[V:.+]] = scf.if %[[OK]] -> (f32) {
// CHECK-NEXT:        %[[E:.+]] = tensor.extract %[[Y]][%[[B]], %[[ROW]], %[[C]]] : tensor<2x4x3xf32>
// CHECK-NEXT:        scf.yield %[[E]] : f32
// CHECK-NEXT:      } else {
// CHECK-NEXT:        %[[Z:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        scf.yield %[[Z]] : f32
// CHECK-NEXT:      }
// CHECK-NEXT:      linalg.yield %[[V]] : f32
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[X]] : tensor<2x7x3xf32>
func.func @broadcast_f32(%y: tensor<2x4x3xf32>, %a: tensor<2x7xi32>) -> tensor<2x7x3xf32> {
  %x_init = tensor.empty() : tensor<2x7x3xf32>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x4x3xf32>, tensor<2x7xi32> -> tensor<2x7x3xf32>
  return %x : tensor<2x7x3xf32>
}

// -----

// Dynamic M: the bound of the guard is tensor.dim %y, 1; the result sizes come
// from Y (B, C) and assign (N). f16 rows are extended inside the guarded branch
// and the result truncated back to f16.

// CHECK-LABEL: func.func @broadcast_f16_dynamic
// CHECK-SAME:    (%[[Y:[^:]+]]: tensor<?x?x?xf16>, %[[A:[^:]+]]: tensor<?x?xi32>, %{{[^:]+}}: tensor<?x?x?xf16>)
// CHECK:         %[[C1:.+]] = arith.constant 1 : index
// CHECK-NEXT:    %[[M:.+]] = tensor.dim %[[Y]], %[[C1]] : tensor<?x?x?xf16>
// CHECK:         %[[N:.+]] = tensor.dim %[[A]], %{{.+}} : tensor<?x?xi32>
// CHECK:         tensor.empty(%{{.+}}, %[[N]], %{{.+}}) : tensor<?x?x?xf32>
// CHECK:         %[[X:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[A]] : tensor<?x?xi32>) outs(%{{.+}} : tensor<?x?x?xf32>)
// CHECK-NEXT:    ^bb0(%[[I:[^:]+]]: i32, %{{.+}}: f32):
// CHECK-DAG:       %[[MI:.+]] = arith.index_cast %[[M]] : index to i32
// CHECK-DAG:       %[[GE:.+]] = arith.cmpi sge, %[[I]], %{{.+}} : i32
// CHECK-DAG:       %[[LT:.+]] = arith.cmpi slt, %[[I]], %[[MI]] : i32
// CHECK-DAG:       %[[OK:.+]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK:           scf.if %[[OK]] -> (f32) {
// CHECK-NEXT:        %[[E:.+]] = tensor.extract %[[Y]][{{.+}}] : tensor<?x?x?xf16>
// CHECK-NEXT:        %[[EE:.+]] = arith.extf %[[E]] : f16 to f32
// CHECK-NEXT:        scf.yield %[[EE]] : f32
// CHECK-NEXT:      } else {
// CHECK:         %[[R:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[X]] : tensor<?x?x?xf32>) outs(%{{.+}} : tensor<?x?x?xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[R]] : tensor<?x?x?xf16>
func.func @broadcast_f16_dynamic(%y: tensor<?x?x?xf16>, %a: tensor<?x?xi32>, %x_init: tensor<?x?x?xf16>) -> tensor<?x?x?xf16> {
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<?x?x?xf16>, tensor<?x?xi32> -> tensor<?x?x?xf16>
  return %x : tensor<?x?x?xf16>
}

// -----

// bf16 with a dynamic N only: M stays a constant bound.

// CHECK-LABEL: func.func @broadcast_bf16_dynamic_tokens
// CHECK-SAME:    (%[[Y:[^:]+]]: tensor<1x5x2xbf16>, %[[A:[^:]+]]: tensor<1x?xi32>, %{{[^:]+}}: tensor<1x?x2xbf16>)
// CHECK:         %[[M:.+]] = arith.constant 5 : index
// CHECK:         linalg.generic
// CHECK:           %[[MI:.+]] = arith.index_cast %[[M]] : index to i32
// CHECK:           arith.cmpi slt, %{{.+}}, %[[MI]] : i32
// CHECK:           scf.if
// CHECK-NEXT:        tensor.extract %[[Y]]
// CHECK-NEXT:        arith.extf %{{.+}} : bf16 to f32
// CHECK:           arith.truncf %{{.+}} : f32 to bf16
// CHECK:         return %{{.+}} : tensor<1x?x2xbf16>
func.func @broadcast_bf16_dynamic_tokens(%y: tensor<1x5x2xbf16>, %a: tensor<1x?xi32>, %x_init: tensor<1x?x2xbf16>) -> tensor<1x?x2xbf16> {
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<1x5x2xbf16>, tensor<1x?xi32> -> tensor<1x?x2xbf16>
  return %x : tensor<1x?x2xbf16>
}

// -----

// B is static only in `assign`: the result is cast to the inferred static
// type.

// CHECK-LABEL: func.func @broadcast_refined_result_type
// CHECK:         %[[X:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<?x7x3xf32>)
// CHECK:         %[[C:.+]] = tensor.cast %[[X]] : tensor<?x7x3xf32> to tensor<2x7x3xf32>
// CHECK-NEXT:    return %[[C]] : tensor<2x7x3xf32>
func.func @broadcast_refined_result_type(%y: tensor<?x4x3xf32>, %a: tensor<2x7xi32>) -> tensor<2x7x3xf32> {
  %x_init = tensor.empty() : tensor<2x7x3xf32>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<?x4x3xf32>, tensor<2x7xi32> -> tensor<2x7x3xf32>
  return %x : tensor<2x7x3xf32>
}

// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s --check-prefix=NOCLUS

// clus.topk_members lowers by ranking, not sorting.
//  - Top-K: rank[n, m] counts the n' that rank before n in column m
//    (G[n', m] > G[n, m], or equal and n' < n); members[m, r] is the token of
//    rank r, for r < κ. Slots start at -1.
//  - SA-Top-K (exclusive): owner[n] = argmax_m G[n, m] (strict `ogt`, ties to
//    the lower m), rank among the tokens of the same owner (reading
//    G[·, owner] with tensor.extract; owners are in range by construction),
//    then members[m, r] = the token owned by m with rank r.

// NOCLUS-NOT: clus.

// CHECK-DAG: #[[$GOTHER:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[$GSELF:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$RANKT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
// CHECK-LABEL: func.func @topk_f16
// CHECK-SAME:    (%[[G:[^:]+]]: tensor<1x6x3xf16>)
// CHECK:         %[[NEG1:.+]] = arith.constant -1 : i32
// CHECK-NEXT:    %[[SLOTS:.+]] = linalg.fill ins(%[[NEG1]] : i32) outs(%{{.+}} : tensor<1x3x2xi32>)
// CHECK:         %[[RANK:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$GOTHER]], #[[$GSELF]], #[[$GSELF]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[G]], %[[G]] : tensor<1x6x3xf16>, tensor<1x6x3xf16>) outs(%{{.+}} : tensor<1x6x3xi32>)
// CHECK-NEXT:    ^bb0(%[[OTHER:[^:]+]]: f16, %[[SELF:[^:]+]]: f16, %[[CNT:[^:]+]]: i32):
// CHECK-NEXT:      %[[OE:.+]] = arith.extf %[[OTHER]] : f16 to f32
// CHECK-NEXT:      %[[NP:.+]] = linalg.index 3 : index
// CHECK-NEXT:      %[[NPI:.+]] = arith.index_cast %[[NP]] : index to i32
// CHECK-NEXT:      %[[SE:.+]] = arith.extf %[[SELF]] : f16 to f32
// CHECK-NEXT:      %[[N:.+]] = linalg.index 1 : index
// CHECK-NEXT:      %[[NI:.+]] = arith.index_cast %[[N]] : index to i32
// CHECK-NEXT:      %[[GT:.+]] = arith.cmpf ogt, %[[OE]], %[[SE]] : f32
// CHECK-NEXT:      %[[EQ:.+]] = arith.cmpf oeq, %[[OE]], %[[SE]] : f32
// CHECK-NEXT:      %[[EARLIER:.+]] = arith.cmpi slt, %[[NPI]], %[[NI]] : i32
// CHECK-NEXT:      %[[TIE:.+]] = arith.andi %[[EQ]], %[[EARLIER]] : i1
// CHECK-NEXT:      %[[BEFORE:.+]] = arith.ori %[[GT]], %[[TIE]] : i1
// CHECK:           %[[INC:.+]] = arith.select %[[BEFORE]]
// CHECK-NEXT:      arith.addi %[[CNT]], %[[INC]] : i32
// CHECK:         %[[MEMBERS:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$RANKT]], #[[$GSELF]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[RANK]] : tensor<1x6x3xi32>) outs(%[[SLOTS]] : tensor<1x3x2xi32>)
// CHECK-NEXT:    ^bb0(%[[R:[^:]+]]: i32, %[[OUT:[^:]+]]: i32):
// CHECK-NEXT:      %[[SLOT:.+]] = linalg.index 2 : index
// CHECK-NEXT:      %[[SLOTI:.+]] = arith.index_cast %[[SLOT]] : index to i32
// CHECK-NEXT:      %[[HIT:.+]] = arith.cmpi eq, %[[R]], %[[SLOTI]] : i32
// CHECK-NEXT:      %[[TOK:.+]] = linalg.index 3 : index
// CHECK-NEXT:      %[[TOKI:.+]] = arith.index_cast %[[TOK]] : index to i32
// CHECK-NEXT:      %[[SEL:.+]] = arith.select %[[HIT]], %[[TOKI]], %[[OUT]] : i32
// CHECK-NEXT:      linalg.yield %[[SEL]] : i32
// CHECK:         return %[[MEMBERS]] : tensor<1x3x2xi32>
func.func @topk_f16(%g: tensor<1x6x3xf16>) -> tensor<1x3x2xi32> {
  %m_init = tensor.empty() : tensor<1x3x2xi32>
  %m = clus.topk_members %g capacity = 2 outs(%m_init)
      : tensor<1x6x3xf16> -> tensor<1x3x2xi32>
  return %m : tensor<1x3x2xi32>
}

// -----

// CHECK-DAG: #[[$ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$COL:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$TOK4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-LABEL: func.func @topk_exclusive_dynamic
// CHECK-SAME:    (%[[G:[^:]+]]: tensor<?x?x3xf32>, %{{[^:]+}}: tensor<?x3x4xi32>)
// CHECK-DAG:     %[[B:.+]] = tensor.dim %[[G]], %{{.+}} : tensor<?x?x3xf32>
// CHECK-DAG:     %[[N:.+]] = tensor.dim %[[G]], %{{.+}} : tensor<?x?x3xf32>
// CHECK:         %[[E:.+]] = tensor.empty(%[[B]]) : tensor<?x3x4xi32>
// CHECK:         %[[SLOTS:.+]] = linalg.fill ins(%{{.+}} : i32) outs(%[[E]] : tensor<?x3x4xi32>)
// CHECK:         %[[NINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:         %[[OWNER:.+]]:2 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID3]], #[[$ROW]], #[[$ROW]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[G]] : tensor<?x?x3xf32>) outs(%{{.+}}, %{{.+}} : tensor<?x?xf32>, tensor<?x?xi32>)
// CHECK-NEXT:    ^bb0(%[[V:[^:]+]]: f32, %[[BEST:[^:]+]]: f32, %[[IDX:[^:]+]]: i32):
// CHECK-NEXT:      %[[BETTER:.+]] = arith.cmpf ogt, %[[V]], %[[BEST]] : f32
// CHECK-NEXT:      arith.select %[[BETTER]], %[[V]], %[[BEST]] : f32
// CHECK:           arith.select %[[BETTER]], %{{.+}}, %[[IDX]] : i32
// CHECK:         %[[RANK:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$COL]], #[[$ROW]], #[[$ROW]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[OWNER]]#1, %[[OWNER]]#1 : tensor<?x?xi32>, tensor<?x?xi32>)
// CHECK-NEXT:    ^bb0(%[[OO:[^:]+]]: i32, %[[OS:[^:]+]]: i32, %{{.+}}: i32):
// CHECK:           %[[COLIDX:.+]] = arith.index_cast %[[OS]] : i32 to index
// CHECK:           tensor.extract %[[G]][%{{.+}}, %{{.+}}, %[[COLIDX]]] : tensor<?x?x3xf32>
// CHECK:           tensor.extract %[[G]][%{{.+}}, %{{.+}}, %[[COLIDX]]] : tensor<?x?x3xf32>
// CHECK-NEXT:      %[[SAME:.+]] = arith.cmpi eq, %[[OO]], %[[OS]] : i32
// CHECK:           %[[BEFORE:.+]] = arith.ori
// CHECK-NEXT:      %[[BOTH:.+]] = arith.andi %[[SAME]], %[[BEFORE]] : i1
// CHECK:           arith.select %[[BOTH]]
// CHECK:         %[[MEMBERS:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$TOK4]], #[[$TOK4]], #{{[a-z0-9]+}}]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[OWNER]]#1, %[[RANK]] : tensor<?x?xi32>, tensor<?x?xi32>) outs(%[[SLOTS]] : tensor<?x3x4xi32>)
// CHECK:           %[[OWNED:.+]] = arith.cmpi eq
// CHECK:           %[[AT:.+]] = arith.cmpi eq
// CHECK-NEXT:      %[[HIT:.+]] = arith.andi %[[OWNED]], %[[AT]] : i1
// CHECK:           arith.select %[[HIT]]
// CHECK:         return %[[MEMBERS]] : tensor<?x3x4xi32>
func.func @topk_exclusive_dynamic(%g: tensor<?x?x3xf32>, %m_init: tensor<?x3x4xi32>) -> tensor<?x3x4xi32> {
  %m = clus.topk_members %g capacity = 4 exclusive outs(%m_init)
      : tensor<?x?x3xf32> -> tensor<?x3x4xi32>
  return %m : tensor<?x3x4xi32>
}

// -----

// bf16 exclusive: the argmax and both comparisons of the rank extend bf16.

// CHECK-LABEL: func.func @topk_exclusive_bf16
// CHECK:         linalg.generic
// CHECK-SAME:      outs(%{{.+}}, %{{.+}} : tensor<2x5xf32>, tensor<2x5xi32>)
// CHECK:           %[[V:.+]] = arith.extf %{{.+}} : bf16 to f32
// CHECK-NEXT:      arith.cmpf ogt, %[[V]], %{{.+}} : f32
// CHECK:         linalg.generic
// CHECK:           %[[A:.+]] = tensor.extract %{{.+}} : tensor<2x5x4xbf16>
// CHECK:           %[[B:.+]] = tensor.extract %{{.+}} : tensor<2x5x4xbf16>
// CHECK:           %[[AE:.+]] = arith.extf %[[A]] : bf16 to f32
// CHECK:           %[[BE:.+]] = arith.extf %[[B]] : bf16 to f32
// CHECK:           arith.cmpf ogt, %[[AE]], %[[BE]] : f32
// CHECK:         return %{{.+}} : tensor<2x4x1xi32>
func.func @topk_exclusive_bf16(%g: tensor<2x5x4xbf16>) -> tensor<2x4x1xi32> {
  %m_init = tensor.empty() : tensor<2x4x1xi32>
  %m = clus.topk_members %g capacity = 1 exclusive outs(%m_init)
      : tensor<2x5x4xbf16> -> tensor<2x4x1xi32>
  return %m : tensor<2x4x1xi32>
}

// -----

// A capacity larger than N leaves the slots past N at -1: the members
// generic only writes slot r when some token has rank r.

// CHECK-LABEL: func.func @topk_capacity_exceeds_tokens
// CHECK:         %[[NEG1:.+]] = arith.constant -1 : i32
// CHECK-NEXT:    %[[SLOTS:.+]] = linalg.fill ins(%[[NEG1]] : i32) outs(%{{.+}} : tensor<1x2x8xi32>)
// CHECK:         %[[MEMBERS:.+]] = linalg.generic {{.+}} outs(%[[SLOTS]] : tensor<1x2x8xi32>)
// CHECK:         return %[[MEMBERS]] : tensor<1x2x8xi32>
func.func @topk_capacity_exceeds_tokens(%g: tensor<1x3x2xf32>) -> tensor<1x2x8xi32> {
  %m_init = tensor.empty() : tensor<1x2x8xi32>
  %m = clus.topk_members %g capacity = 8 outs(%m_init)
      : tensor<1x3x2xf32> -> tensor<1x2x8xi32>
  return %m : tensor<1x2x8xi32>
}

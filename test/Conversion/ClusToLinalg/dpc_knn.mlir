// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s --check-prefix=NOCLUS

// clus.dpc_knn lowers to:
//  - squared distances over loops (b, i, j, c), c reduced, then
//    D = sqrt(.) * (1/sqrt(C));
//  - the k smallest D² per row as ONE generic with k outputs (the k-slot
//    insertion chain of minimumf/maximumf), each slot initialised to +inf;
//  - ρ = exp(-(sum of the min(k, N) filled slots) / min(k, N));
//  - δ as a running min over denser tokens plus an i1 "has a denser token"
//    flag, max D over (i, j) for the densest token, score = ρ·δ, and the rank
//    of every token by descending score;
//  - all scales at once: centres [B, S, max M] (-1 past M_s), the nearest
//    centre through a guarded gather of D, and the centres forced into
//    their own cluster.

// NOCLUS-NOT: clus.

// CHECK-DAG: #[[$XI:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$XJ:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$DIJ:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$BATCH3:.+]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-LABEL: func.func @dpc_knn_two_scales_k3
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<1x8x2xf32>)
// CHECK:         %[[SQ:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$XI]], #[[$XJ]], #[[$DIJ]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[X]], %[[X]] : tensor<1x8x2xf32>, tensor<1x8x2xf32>) outs(%{{.+}} : tensor<1x8x8xf32>)
// CHECK:           %[[DIFF:.+]] = arith.subf
// CHECK-NEXT:      arith.mulf %[[DIFF]], %[[DIFF]] : f32
// CHECK:         %[[SQRTC:.+]] = math.sqrt %{{.+}} : f32
// CHECK-NEXT:    %[[INV:.+]] = arith.divf %{{.+}}, %[[SQRTC]] : f32
// CHECK:         %[[D:.+]] = linalg.generic
// CHECK-SAME:      outs(%[[SQ]] : tensor<1x8x8xf32>)
// CHECK:           %[[NORM:.+]] = math.sqrt
// CHECK-NEXT:      arith.mulf %[[NORM]], %[[INV]] : f32
// The k = 3 slots, all +inf, filled by one reduction with three outputs.
// CHECK:         %[[INF:.+]] = arith.constant 0x7F800000 : f32
// CHECK-NEXT:    %[[S0:.+]] = linalg.fill ins(%[[INF]] : f32) outs(%{{.+}} : tensor<1x8xf32>)
// CHECK:         %[[S1:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x8xf32>)
// CHECK:         %[[S2:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x8xf32>)
// CHECK:         %[[KNN:.+]]:3 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID3]], #[[$ROW3]], #[[$ROW3]], #[[$ROW3]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[D]] : tensor<1x8x8xf32>) outs(%[[S0]], %[[S1]], %[[S2]] : tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>)
// CHECK-NEXT:    ^bb0(%[[DV:[^:]+]]: f32, %[[O0:[^:]+]]: f32, %[[O1:[^:]+]]: f32, %[[O2:[^:]+]]: f32):
// CHECK-NEXT:      %[[D2:.+]] = arith.mulf %[[DV]], %[[DV]] : f32
// CHECK-NEXT:      %[[N0:.+]] = arith.minimumf %[[O0]], %[[D2]] : f32
// CHECK-NEXT:      %[[C0:.+]] = arith.maximumf %[[O0]], %[[D2]] : f32
// CHECK-NEXT:      %[[N1:.+]] = arith.minimumf %[[O1]], %[[C0]] : f32
// CHECK-NEXT:      %[[C1:.+]] = arith.maximumf %[[O1]], %[[C0]] : f32
// CHECK-NEXT:      %[[N2:.+]] = arith.minimumf %[[O2]], %[[C1]] : f32
// CHECK-NEXT:      arith.maximumf
// CHECK-NEXT:      linalg.yield %[[N0]], %[[N1]], %[[N2]] : f32, f32, f32
// The mean runs over min(k, N) slots.
// CHECK:         %[[USED:.+]] = arith.minui %{{.+}}, %{{.+}} : index
// CHECK:         %[[RHO:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[KNN]]#0, %[[KNN]]#1, %[[KNN]]#2 : tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>)
// CHECK-COUNT-3:   arith.cmpi ult, %{{.+}}, %[[USED]] : index
// CHECK:           %[[MEAN:.+]] = arith.divf
// CHECK-NEXT:      %[[NEG:.+]] = arith.negf %[[MEAN]] : f32
// CHECK-NEXT:      math.exp %[[NEG]] : f32
// δ: running min of D over denser tokens (ρ_j > ρ_i, or equal and j < i).
// CHECK:         %[[FALSE:.+]] = arith.constant false
// CHECK:         %[[DELTA:.+]]:2 = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[D]], %[[RHO]], %[[RHO]] : tensor<1x8x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>)
// CHECK-SAME:      outs(%{{.+}}, %{{.+}} : tensor<1x8xf32>, tensor<1x8xi1>)
// CHECK:           %[[GT:.+]] = arith.cmpf ogt
// CHECK-NEXT:      %[[EQ:.+]] = arith.cmpf oeq
// CHECK-NEXT:      %[[LT:.+]] = arith.cmpi slt
// CHECK-NEXT:      %[[EQLT:.+]] = arith.andi %[[EQ]], %[[LT]] : i1
// CHECK-NEXT:      %[[DENSER:.+]] = arith.ori %[[GT]], %[[EQLT]] : i1
// CHECK-NEXT:      %[[MIN:.+]] = arith.minimumf
// CHECK-NEXT:      arith.select %[[DENSER]], %[[MIN]], %{{.+}} : f32
// CHECK:         %[[NINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:    %[[MAXD0:.+]] = linalg.fill ins(%[[NINF]] : f32) outs(%{{.+}} : tensor<1xf32>)
// CHECK:         %[[MAXD:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID3]], #[[$BATCH3]]]
// CHECK-SAME:      iterator_types = ["parallel", "reduction", "reduction"]
// CHECK-SAME:      ins(%[[D]] : tensor<1x8x8xf32>) outs(%[[MAXD0]] : tensor<1xf32>)
// CHECK:           arith.maximumf
// CHECK:         %[[SCORE:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[RHO]], %[[DELTA]]#0, %[[DELTA]]#1, %[[MAXD]] : tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xi1>, tensor<1xf32>)
// CHECK:           %[[DEL:.+]] = arith.select
// CHECK-NEXT:      arith.mulf %{{.+}}, %[[DEL]] : f32
// CHECK:         %[[RANK:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[SCORE]], %[[SCORE]] : tensor<1x8xf32>, tensor<1x8xf32>) outs(%{{.+}} : tensor<1x8xi32>)
// CHECK:           arith.addi
// Centres of both scales at once, -1 past M_s (M_0 = 2, M_1 = 3).
// CHECK:         %[[NEG1:.+]] = arith.constant -1 : i32
// CHECK-NEXT:    %[[CINIT:.+]] = linalg.fill ins(%[[NEG1]] : i32) outs(%{{.+}} : tensor<1x2x3xi32>)
// CHECK:         %[[CENTERS:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[RANK]] : tensor<1x8xi32>) outs(%[[CINIT]] : tensor<1x2x3xi32>)
// CHECK-NEXT:    ^bb0(%[[RK:[^:]+]]: i32, %{{.+}}: i32):
// CHECK-NEXT:      %[[SLOT:.+]] = linalg.index 2 : index
// CHECK-NEXT:      %[[SLOTI:.+]] = arith.index_cast %[[SLOT]] : index to i32
// CHECK-NEXT:      arith.cmpi eq, %[[RK]], %[[SLOTI]] : i32
// CHECK-DAG:       arith.constant 2 : i32
// CHECK-DAG:       arith.constant 3 : i32
// CHECK:         %[[NEAR:.+]]:2 = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[CENTERS]] : tensor<1x2x3xi32>) outs(%{{.+}}, %{{.+}} : tensor<1x2x8xf32>, tensor<1x2x8xi32>)
// CHECK-NEXT:    ^bb0(%[[CTR:[^:]+]]: i32, %{{.+}}: f32, %{{.+}}: i32):
// CHECK-DAG:       %[[GE0:.+]] = arith.cmpi sge, %[[CTR]], %{{.+}} : i32
// CHECK-DAG:       %[[LTN:.+]] = arith.cmpi slt, %[[CTR]], %{{.+}} : i32
// CHECK:           %[[OK:.+]] = arith.andi %[[GE0]], %[[LTN]] : i1
// CHECK:           scf.if %[[OK]] -> (f32) {
// CHECK-NEXT:        tensor.extract %[[D]][{{.+}}] : tensor<1x8x8xf32>
// CHECK:           arith.cmpf olt
// CHECK:         %[[ASSIGN:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[RANK]] : tensor<1x8xi32>) outs(%[[NEAR]]#1 : tensor<1x2x8xi32>)
// CHECK:           arith.cmpi slt
// CHECK:         return %[[ASSIGN]], %[[CENTERS]] : tensor<1x2x8xi32>, tensor<1x2x3xi32>
func.func @dpc_knn_two_scales_k3(%x: tensor<1x8x2xf32>) -> (tensor<1x2x8xi32>, tensor<1x2x3xi32>) {
  %a_init = tensor.empty() : tensor<1x2x8xi32>
  %c_init = tensor.empty() : tensor<1x2x3xi32>
  %a, %c = clus.dpc_knn %x clusters = [2, 3] k = 3 outs(%a_init, %c_init)
      : tensor<1x8x2xf32> -> tensor<1x2x8xi32>, tensor<1x2x3xi32>
  return %a, %c : tensor<1x2x8xi32>, tensor<1x2x3xi32>
}

// -----

// Dynamic bf16 with the default k = 5: X is extended to f32 once, the slot
// chain has five outputs, min(k, N) uses tensor.dim of N, and the guard of
// the centre gather is bounded by that same N.

// CHECK-LABEL: func.func @dpc_knn_bf16_dynamic_default_k
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<?x?x?xbf16>, %{{[^:]+}}: tensor<?x1x?xi32>, %{{[^:]+}}: tensor<?x1x8xi32>)
// CHECK-DAG:     %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x?xbf16>
// CHECK-DAG:     %[[N0:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x?xbf16>
// CHECK-DAG:     %[[C:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x?xbf16>
// CHECK:         tensor.empty(%[[B]], %[[N0]], %[[C]]) : tensor<?x?x?xf32>
// CHECK:         %[[XF:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[X]] : tensor<?x?x?xbf16>) outs(%{{.+}} : tensor<?x?x?xf32>)
// CHECK:           arith.extf %{{.+}} : bf16 to f32
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[XF]], %[[XF]] : tensor<?x?x?xf32>, tensor<?x?x?xf32>)
// CHECK:         %[[KNN:.+]]:5 = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-COUNT-5:   arith.minimumf
// CHECK:         %[[K:.+]] = arith.constant 5 : index
// CHECK-NEXT:    arith.minui %[[K]], %[[N:dim[_0-9]*]] : index
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[KNN]]#0, %[[KNN]]#1, %[[KNN]]#2, %[[KNN]]#3, %[[KNN]]#4 :
// CHECK:         %[[CENTERS:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<?x1x8xi32>)
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[CENTERS]] : tensor<?x1x8xi32>)
// CHECK:           %[[NI:.+]] = arith.index_cast %[[N]] : index to i32
// CHECK:           arith.cmpi slt, %{{.+}}, %[[NI]] : i32
// CHECK:           scf.if
// CHECK:         return %{{.+}}, %[[CENTERS]] : tensor<?x1x?xi32>, tensor<?x1x8xi32>
func.func @dpc_knn_bf16_dynamic_default_k(%x: tensor<?x?x?xbf16>, %a_init: tensor<?x1x?xi32>, %c_init: tensor<?x1x8xi32>) -> (tensor<?x1x?xi32>, tensor<?x1x8xi32>) {
  %a, %c = clus.dpc_knn %x clusters = [8] outs(%a_init, %c_init)
      : tensor<?x?x?xbf16> -> tensor<?x1x?xi32>, tensor<?x1x8xi32>
  return %a, %c : tensor<?x1x?xi32>, tensor<?x1x8xi32>
}

// -----

// k = 1 keeps a single slot: a one-output reduction.

// CHECK-LABEL: func.func @dpc_knn_f16_k1
// CHECK:         arith.extf %{{.+}} : f16 to f32
// CHECK:         %[[KNN:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.+}} : tensor<2x5x5xf32>) outs(%{{.+}} : tensor<2x5xf32>)
// CHECK-COUNT-1:   arith.minimumf
// CHECK-NOT:       arith.minimumf
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[KNN]] : tensor<2x5xf32>)
// CHECK:         return %{{.+}}, %{{.+}} : tensor<2x2x5xi32>, tensor<2x2x4xi32>
func.func @dpc_knn_f16_k1(%x: tensor<2x5x3xf16>) -> (tensor<2x2x5xi32>, tensor<2x2x4xi32>) {
  %a_init = tensor.empty() : tensor<2x2x5xi32>
  %c_init = tensor.empty() : tensor<2x2x4xi32>
  %a, %c = clus.dpc_knn %x clusters = [4, 1] k = 1 outs(%a_init, %c_init)
      : tensor<2x5x3xf16> -> tensor<2x2x5xi32>, tensor<2x2x4xi32>
  return %a, %c : tensor<2x2x5xi32>, tensor<2x2x4xi32>
}

// -----

// Past 16 slots, k is no longer unrolled: the slots are one [B, N, k]
// tensor (one slot when k >= N, whose density then sums every D²), and an
// scf.for over tokens inserts column j of D² into all slots at once with
// new[t] = min(old[t], max(old[t-1], D²)).

// CHECK-LABEL: func.func @dpc_knn_large_k
// CHECK-DAG:     %[[K:.+]] = arith.constant 2147483647 : index
// CHECK-DAG:     %[[N:.+]] = tensor.dim %{{.+}}, %c1
// CHECK:         %[[ALL:.+]] = arith.cmpi uge, %[[K]], %[[N]] : index
// CHECK:         %[[SLOTS:.+]] = arith.select %[[ALL]], %{{.+}}, %[[K]] : index
// CHECK:         %[[STEPS:.+]] = arith.select %[[ALL]], %{{.+}}, %[[N]] : index
// CHECK:         scf.for %[[J:.+]] = %{{.+}} to %[[STEPS]] step %{{.+}} iter_args(%[[OLD:.+]] = %{{.+}}) -> (tensor<2x?x?xf32>)
// CHECK:           tensor.extract_slice %{{.+}}[0, 0, %[[J]]] [2, %[[N]], 1] [1, 1, 1] : tensor<2x?x?xf32> to tensor<2x?xf32>
// CHECK:           linalg.generic
// CHECK:             tensor.extract %[[OLD]]
// CHECK:             arith.maximumf
// CHECK:             arith.minimumf
// CHECK-NOT:         arith.minimumf
// CHECK:           scf.yield
// CHECK:         return
func.func @dpc_knn_large_k(%x: tensor<2x?x16xf32>, %a_init: tensor<2x1x?xi32>) -> (tensor<2x1x?xi32>, tensor<2x1x3xi32>) {
  %c_init = tensor.empty() : tensor<2x1x3xi32>
  %a, %c = clus.dpc_knn %x clusters = [3] k = 2147483647 outs(%a_init, %c_init)
      : tensor<2x?x16xf32> -> tensor<2x1x?xi32>, tensor<2x1x3xi32>
  return %a, %c : tensor<2x1x?xi32>, tensor<2x1x3xi32>
}

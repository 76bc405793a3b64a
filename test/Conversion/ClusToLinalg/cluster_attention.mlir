// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s --check-prefix=NOCLUS

// clus.cluster_attention lowers to:
//  - the summaries R[m] = Σ_n softmax_n(Ak[n, m]) V[n] (max, sum, weighted
//    sum over n);
//  - four gathers of Q, K, V and Aq rows per member slot, each reading
//    source[b, h, members[b, m, i], ·] only under
//    scf.if (0 <= members[...] < N), 0 otherwise;
//  - intra scores over (b, h, m, i, j, d), the row max over valid slots j and
//    (with summaries) other clusters m' != m, numerator and denominator;
//  - a scatter-mean into token rows as an scf.for nest over (b, m, slot) whose
//    body is again guarded by scf.if on the member index;
//  - the token fallback: Σ_m softmax_m(Aq[t, :]) R[m] with summaries, 0
//    without.

// NOCLUS-NOT: clus.

// CHECK-DAG: #[[$AKT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3, d2)>
// CHECK-DAG: #[[$BHM:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$MEMSLOT:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d3)>
// CHECK-LABEL: func.func @cluster_attention_summaries
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x1x4x2xf32>, %[[K:[^:]+]]: tensor<1x1x4x2xf32>, %[[V:[^:]+]]: tensor<1x1x4x3xf32>, %[[MEM:[^:]+]]: tensor<1x2x2xi32>, %[[AQ:[^:]+]]: tensor<1x1x4x2xf32>, %[[AK:[^:]+]]: tensor<1x1x4x2xf32>)
// The default scale is 1/sqrt(D) = 1/sqrt(2).
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 0.707106769 : f32
// CHECK-DAG:     %[[N:.+]] = arith.constant 4 : index
// Summaries: softmax over n of Ak[:, m], then · V.
// CHECK:         %[[NINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:    %[[AKMAX0:.+]] = linalg.fill ins(%[[NINF]] : f32) outs(%{{.+}} : tensor<1x1x2xf32>)
// CHECK:         %[[AKMAX:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$AKT]], #[[$BHM]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[AK]] : tensor<1x1x4x2xf32>) outs(%[[AKMAX0]] : tensor<1x1x2xf32>)
// CHECK:           arith.maximumf
// CHECK:         %[[AKSUM:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[AK]], %[[AKMAX]] : tensor<1x1x4x2xf32>, tensor<1x1x2xf32>)
// CHECK:         %[[R:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[AK]], %[[AKMAX]], %[[AKSUM]], %[[V]] : {{.+}}) outs(%{{.+}} : tensor<1x1x2x3xf32>)
// CHECK-NEXT:    ^bb0(%[[A:[^:]+]]: f32, %[[AM:[^:]+]]: f32, %[[AS:[^:]+]]: f32, %[[VV:[^:]+]]: f32, %[[RACC:[^:]+]]: f32):
// CHECK-NEXT:      %[[AD:.+]] = arith.subf %[[A]], %[[AM]] : f32
// CHECK-NEXT:      %[[AE:.+]] = math.exp %[[AD]] : f32
// CHECK-NEXT:      %[[AP:.+]] = arith.divf %[[AE]], %[[AS]] : f32
// CHECK-NEXT:      %[[APV:.+]] = arith.mulf %[[AP]], %[[VV]] : f32
// CHECK-NEXT:      arith.addf %[[RACC]], %[[APV]] : f32
// Guarded gathers of Q, K, V and Aq rows per member slot.
// CHECK:         %[[QR:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$MEMSLOT]], #{{[a-z0-9]+}}]
// CHECK-SAME:      ins(%[[MEM]] : tensor<1x2x2xi32>) outs(%{{.+}} : tensor<1x1x2x2x2xf32>)
// CHECK-NEXT:    ^bb0(%[[T:[^:]+]]: i32, %{{.+}}: f32):
// CHECK-DAG:       %[[NI:.+]] = arith.index_cast %[[N]] : index to i32
// CHECK-DAG:       %[[GE:.+]] = arith.cmpi sge, %[[T]], %{{.+}} : i32
// CHECK-DAG:       %[[LT:.+]] = arith.cmpi slt, %[[T]], %[[NI]] : i32
// CHECK-DAG:       %[[OK:.+]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK-DAG:       %[[TI:.+]] = arith.index_cast %[[T]] : i32 to index
// CHECK:           scf.if %[[OK]] -> (f32) {
// CHECK-NEXT:        tensor.extract %[[Q]][%{{.+}}, %{{.+}}, %[[TI]], %{{.+}}] : tensor<1x1x4x2xf32>
// CHECK:           } else {
// CHECK:         %[[KR:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[MEM]] : tensor<1x2x2xi32>) outs(%{{.+}} : tensor<1x1x2x2x2xf32>)
// CHECK:           scf.if
// CHECK-NEXT:        tensor.extract %[[K]]
// CHECK:         %[[VR:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[MEM]] : tensor<1x2x2xi32>) outs(%{{.+}} : tensor<1x1x2x2x3xf32>)
// CHECK:           scf.if
// CHECK-NEXT:        tensor.extract %[[V]]
// CHECK:         %[[AQR:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[MEM]] : tensor<1x2x2xi32>) outs(%{{.+}} : tensor<1x1x2x2x2xf32>)
// CHECK:           scf.if
// CHECK-NEXT:        tensor.extract %[[AQ]]
// Intra scores, scaled.
// CHECK:         %[[S:.+]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[QR]], %[[KR]] : tensor<1x1x2x2x2xf32>, tensor<1x1x2x2x2xf32>)
// CHECK:         %[[SS:.+]] = linalg.generic
// CHECK-SAME:      outs(%[[S]] : tensor<1x1x2x2x2xf32>)
// CHECK:           arith.mulf %{{.+}}, %[[SCALE]] : f32
// Row max over valid slots, then over the other clusters' Aq.
// CHECK:         %[[MAXINIT:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x1x2x2xf32>)
// CHECK:         %[[MAX1:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[SS]], %[[MEM]] : tensor<1x1x2x2x2xf32>, tensor<1x2x2xi32>) outs(%[[MAXINIT]] : tensor<1x1x2x2xf32>)
// CHECK:           arith.cmpi sge
// CHECK:           arith.cmpi slt
// CHECK:           arith.maximumf
// CHECK:         %[[MAX2:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[AQR]] : tensor<1x1x2x2x2xf32>) outs(%[[MAX1]] : tensor<1x1x2x2xf32>)
// CHECK:           %[[M:.+]] = linalg.index 2 : index
// CHECK-NEXT:      %[[MP:.+]] = linalg.index 4 : index
// CHECK-NEXT:      %[[OTHER:.+]] = arith.cmpi ne, %[[M]], %[[MP]] : index
// CHECK:           arith.select %[[OTHER]]
// Intra numerator and denominator, then the summary terms on top.
// CHECK:         %[[NUM:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[SS]], %[[MEM]], %[[MAX2]], %[[VR]] : {{.+}})
// CHECK:           %[[SD:.+]] = arith.subf %{{.+}}, %{{.+}} : f32
// CHECK-NEXT:      math.exp %[[SD]] : f32
// CHECK:         %[[DEN:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[SS]], %[[MEM]], %[[MAX2]] : {{.+}})
// CHECK:         %[[NUM2:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[AQR]], %[[MAX2]], %[[R]] : {{.+}}) outs(%[[NUM]] : tensor<1x1x2x2x3xf32>)
// CHECK:           arith.cmpi ne
// CHECK:         %[[DEN2:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[AQR]], %[[MAX2]] : {{.+}}) outs(%[[DEN]] : tensor<1x1x2x2xf32>)
// CHECK:           arith.cmpi ne
// o_m(t), zero for empty slots.
// CHECK:         %[[O:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[NUM2]], %[[DEN2]], %[[MEM]] : {{.+}})
// CHECK:           arith.divf
// Scatter-mean: an scf.for nest over (b, m, slot), guarded on the member.
// CHECK:         %[[SC:.+]]:2 = scf.for %
// CHECK:           scf.for %
// CHECK:             scf.for %
// CHECK:               %[[TOK:.+]] = tensor.extract %[[MEM]][{{.+}}] : tensor<1x2x2xi32>
// CHECK-DAG:           %[[GE2:.+]] = arith.cmpi sge, %[[TOK]], %{{.+}} : i32
// CHECK-DAG:           %[[LT2:.+]] = arith.cmpi slt, %[[TOK]], %{{.+}} : i32
// CHECK:               %[[OK2:.+]] = arith.andi %[[GE2]], %[[LT2]] : i1
// CHECK:               scf.if %[[OK2]] -> (tensor<1x1x4x3xf32>, tensor<1x4xf32>) {
// CHECK:                 tensor.insert
// CHECK:                   tensor.extract %[[O]]
// CHECK:                   tensor.insert
// Fallback for tokens in no cluster: softmax over m of Aq, times R.
// CHECK:         %[[AQMAX:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[AQ]] : tensor<1x1x4x2xf32>) outs(%{{.+}} : tensor<1x1x4xf32>)
// CHECK:         %[[AQSUM:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[AQ]], %[[AQMAX]] : tensor<1x1x4x2xf32>, tensor<1x1x4xf32>)
// CHECK:         %[[FB:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[AQ]], %[[AQMAX]], %[[AQSUM]], %[[R]] : {{.+}})
// CHECK:         %[[OUT:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[SC]]#0, %[[SC]]#1 : tensor<1x1x4x3xf32>, tensor<1x4xf32>) outs(%[[FB]] : tensor<1x1x4x3xf32>)
// CHECK-NEXT:    ^bb0(%[[SUMV:[^:]+]]: f32, %[[CNT:[^:]+]]: f32, %[[FBV:[^:]+]]: f32):
// CHECK:           %[[IN:.+]] = arith.cmpf ogt, %[[CNT]], %{{.+}} : f32
// CHECK-NEXT:      %[[MEAN:.+]] = arith.divf %[[SUMV]], %[[CNT]] : f32
// CHECK-NEXT:      arith.select %[[IN]], %[[MEAN]], %[[FBV]] : f32
// CHECK:         return %[[OUT]] : tensor<1x1x4x3xf32>
func.func @cluster_attention_summaries(%q: tensor<1x1x4x2xf32>, %k: tensor<1x1x4x2xf32>, %v: tensor<1x1x4x3xf32>, %mem: tensor<1x2x2xi32>, %aq: tensor<1x1x4x2xf32>, %ak: tensor<1x1x4x2xf32>) -> tensor<1x1x4x3xf32> {
  %o_init = tensor.empty() : tensor<1x1x4x3xf32>
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>, tensor<1x1x4x3xf32>, tensor<1x2x2xi32>, tensor<1x1x4x2xf32>, tensor<1x1x4x2xf32>
      -> tensor<1x1x4x3xf32>
  return %o : tensor<1x1x4x3xf32>
}

// -----

// summaries = false with an explicit scale: no inter-cluster terms (no
// m != m' test) and a zero fallback instead of the Aq softmax.

// CHECK-LABEL: func.func @cluster_attention_no_summaries
// CHECK-SAME:    (%{{[^:]+}}: tensor<2x1x5x4xf32>, %{{[^:]+}}: tensor<2x1x5x4xf32>, %{{[^:]+}}: tensor<2x1x5x4xf32>, %[[MEM:[^:]+]]: tensor<2x3x2xi32>, %[[AQ:[^:]+]]: tensor<2x1x5x3xf32>, %{{[^:]+}}: tensor<2x1x5x3xf32>)
// CHECK:         %[[SCALE:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-NOT:     arith.cmpi ne
// CHECK:         arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK-NOT:     arith.cmpi ne
// CHECK:         scf.for
// CHECK-NOT:     arith.cmpi ne
// CHECK:         %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[FB:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<2x1x5x4xf32>)
// CHECK-NOT:     ins(%[[AQ]]
// CHECK:         %[[OUT:.+]] = linalg.generic {{.+}} outs(%[[FB]] : tensor<2x1x5x4xf32>)
// CHECK:           arith.cmpf ogt
// CHECK:         return %[[OUT]] : tensor<2x1x5x4xf32>
func.func @cluster_attention_no_summaries(%q: tensor<2x1x5x4xf32>, %k: tensor<2x1x5x4xf32>, %v: tensor<2x1x5x4xf32>, %mem: tensor<2x3x2xi32>, %aq: tensor<2x1x5x3xf32>, %ak: tensor<2x1x5x3xf32>) -> tensor<2x1x5x4xf32> {
  %o_init = tensor.empty() : tensor<2x1x5x4xf32>
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) scale = 1.250000e-01 summaries = false outs(%o_init)
      : tensor<2x1x5x4xf32>, tensor<2x1x5x4xf32>, tensor<2x1x5x4xf32>, tensor<2x3x2xi32>, tensor<2x1x5x3xf32>, tensor<2x1x5x3xf32>
      -> tensor<2x1x5x4xf32>
  return %o : tensor<2x1x5x4xf32>
}

// -----

// Dynamic f16: the member guard is bounded by a run-time N (tensor.dim); gathered
// rows are extended inside the guarded branch; D is dynamic so the default
// scale is computed at run time; the result is truncated to f16.

// CHECK-LABEL: func.func @cluster_attention_f16_dynamic
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x?x?x?xf16>
// CHECK:         %[[D:.+]] = tensor.dim %[[Q]], %{{.+}} : tensor<?x?x?x?xf16>
// CHECK:         math.sqrt
// CHECK:         tensor.dim %[[Q]], %c2{{(_[0-9]+)?}} : tensor<?x?x?x?xf16>
// CHECK:         linalg.generic {{.+}} ins(%{{.+}} : tensor<?x?x?xi32>)
// CHECK:           %[[NI:.+]] = arith.index_cast %dim{{(_[0-9]+)?}} : index to i32
// CHECK:           arith.cmpi slt, %{{.+}}, %[[NI]] : i32
// CHECK:           scf.if
// CHECK-NEXT:        %[[E:.+]] = tensor.extract %[[Q]]
// CHECK-NEXT:        %[[EE:.+]] = arith.extf %[[E]] : f16 to f32
// CHECK-NEXT:        scf.yield %[[EE]] : f32
// CHECK:         linalg.generic {{.+}} outs(%{{.+}} : tensor<?x?x?x?xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %{{.+}} : tensor<?x?x?x?xf16>
func.func @cluster_attention_f16_dynamic(%q: tensor<?x?x?x?xf16>, %k: tensor<?x?x?x?xf16>, %v: tensor<?x?x?x?xf16>, %mem: tensor<?x?x?xi32>, %aq: tensor<?x?x?x?xf16>, %ak: tensor<?x?x?x?xf16>, %o_init: tensor<?x?x?x?xf16>) -> tensor<?x?x?x?xf16> {
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) outs(%o_init)
      : tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?xi32>, tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>
      -> tensor<?x?x?x?xf16>
  return %o : tensor<?x?x?x?xf16>
}

// -----

// bf16 where only K and V know the shape: the f32 result is truncated into
// the destination, which has the inferred static type.

// CHECK-LABEL: func.func @cluster_attention_bf16_refined
// CHECK:         %[[INIT:.+]] = tensor.empty() : tensor<1x1x4x3xbf16>
// CHECK:         arith.extf %{{.+}} : bf16 to f32
// CHECK:         %[[T:.+]] = linalg.generic {{.+}} outs(%[[INIT]] : tensor<1x1x4x3xbf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to bf16
// CHECK-NOT:     tensor.cast
// CHECK:         return %[[T]] : tensor<1x1x4x3xbf16>
func.func @cluster_attention_bf16_refined(%q: tensor<?x?x?x?xbf16>, %k: tensor<1x1x4x2xbf16>, %v: tensor<1x1x4x3xbf16>, %mem: tensor<1x2x2xi32>, %aq: tensor<1x1x4x2xbf16>, %ak: tensor<1x1x4x2xbf16>) -> tensor<1x1x4x3xbf16> {
  %o_init = tensor.empty() : tensor<1x1x4x3xbf16>
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak) outs(%o_init)
      : tensor<?x?x?x?xbf16>, tensor<1x1x4x2xbf16>, tensor<1x1x4x3xbf16>, tensor<1x2x2xi32>, tensor<1x1x4x2xbf16>, tensor<1x1x4x2xbf16>
      -> tensor<1x1x4x3xbf16>
  return %o : tensor<1x1x4x3xbf16>
}

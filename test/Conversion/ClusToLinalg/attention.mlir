// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --convert-clus-to-linalg --split-input-file | FileCheck %s --check-prefix=NOCLUS

// clus.attention lowers, per (K_s, V_s) pair, to: scores S = Q·K_sᵀ over
// loops (b, h, n, m, d) with d reduced; S *= scale; a row max over m (init
// -inf); a row sum of exp(S - max); and O += exp(S - max) / sum · V_s over
// loops (b, h, n, e, m) with m reduced. Every pair accumulates into the same
// f32 output (per-scale softmax, outputs summed).

// NOCLUS-NOT: clus.

// CHECK-DAG: #[[$QMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[$KMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
// CHECK-DAG: #[[$OUT5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$ID4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$ROW4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
// CHECK-DAG: #[[$VMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
// CHECK-LABEL: func.func @attention_one_pair_default_scale
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x2x5x4xf32>, %[[K:[^:]+]]: tensor<1x2x3x4xf32>, %[[V:[^:]+]]: tensor<1x2x3x6xf32>)
// The default scale is 1/sqrt(D) = 1/sqrt(4).
// CHECK:         %[[SCALE:.+]] = arith.constant 5.000000e-01 : f32
// CHECK:         %[[O0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x2x5x6xf32>)
// CHECK:         %[[S0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x2x5x3xf32>)
// CHECK:         %[[S:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$QMAP]], #[[$KMAP]], #[[$OUT5]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[Q]], %[[K]] : tensor<1x2x5x4xf32>, tensor<1x2x3x4xf32>) outs(%[[S0]] : tensor<1x2x5x3xf32>)
// CHECK:           arith.mulf
// CHECK-NEXT:      arith.addf
// CHECK:         %[[SS:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID4]]]
// CHECK-SAME:      outs(%[[S]] : tensor<1x2x5x3xf32>)
// CHECK-NEXT:    ^bb0(%[[X:[^:]+]]: f32):
// CHECK-NEXT:      %[[XS:.+]] = arith.mulf %[[X]], %[[SCALE]] : f32
// CHECK-NEXT:      linalg.yield %[[XS]] : f32
// CHECK:         %[[NINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:         %[[MAX0:.+]] = linalg.fill ins(%[[NINF]] : f32) outs(%{{.+}} : tensor<1x2x5xf32>)
// CHECK:         %[[MAX:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID4]], #[[$ROW4]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[SS]] : tensor<1x2x5x3xf32>) outs(%[[MAX0]] : tensor<1x2x5xf32>)
// CHECK:           arith.maximumf
// CHECK:         %[[SUM:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID4]], #[[$ROW4]], #[[$ROW4]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[SS]], %[[MAX]] : tensor<1x2x5x3xf32>, tensor<1x2x5xf32>)
// CHECK:           arith.subf
// CHECK-NEXT:      math.exp
// CHECK-NEXT:      arith.addf
// CHECK:         %[[O:.+]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$QMAP]], #[[$ROW5]], #[[$ROW5]], #[[$VMAP]], #[[$OUT5]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[SS]], %[[MAX]], %[[SUM]], %[[V]] : tensor<1x2x5x3xf32>, tensor<1x2x5xf32>, tensor<1x2x5xf32>, tensor<1x2x3x6xf32>)
// CHECK-SAME:      outs(%[[O0]] : tensor<1x2x5x6xf32>)
// CHECK-NEXT:    ^bb0(%[[SV:[^:]+]]: f32, %[[MV:[^:]+]]: f32, %[[DV:[^:]+]]: f32, %[[VV:[^:]+]]: f32, %[[ACC:[^:]+]]: f32):
// CHECK-NEXT:      %[[T:.+]] = arith.subf %[[SV]], %[[MV]] : f32
// CHECK-NEXT:      %[[E:.+]] = math.exp %[[T]] : f32
// CHECK-NEXT:      %[[P:.+]] = arith.divf %[[E]], %[[DV]] : f32
// CHECK-NEXT:      %[[PV:.+]] = arith.mulf %[[P]], %[[VV]] : f32
// CHECK-NEXT:      %[[R:.+]] = arith.addf %[[ACC]], %[[PV]] : f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[O]] : tensor<1x2x5x6xf32>
func.func @attention_one_pair_default_scale(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x6xf32>) -> tensor<1x2x5x6xf32> {
  %o_init = tensor.empty() : tensor<1x2x5x6xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x5x4xf32>, [tensor<1x2x3x4xf32>, tensor<1x2x3x6xf32>]
      -> tensor<1x2x5x6xf32>
  return %o : tensor<1x2x5x6xf32>
}

// -----

// Two scales with an explicit scale: each pair has its own score matrix and
// softmax statistics; the second P·V accumulates into the first one's output.

// CHECK-LABEL: func.func @attention_two_pairs
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x1x5x4xf32>, %[[K1:[^:]+]]: tensor<1x1x3x4xf32>, %[[V1:[^:]+]]: tensor<1x1x3x6xf32>, %[[K2:[^:]+]]: tensor<1x1x2x4xf32>, %[[V2:[^:]+]]: tensor<1x1x2x6xf32>)
// CHECK:         %[[SCALE:.+]] = arith.constant 2.500000e-01 : f32
// CHECK:         %[[O0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x1x5x6xf32>)
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[Q]], %[[K1]] : tensor<1x1x5x4xf32>, tensor<1x1x3x4xf32>)
// CHECK:           arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK:         %[[MAX1:.+]] = linalg.generic
// CHECK-SAME:      ins(%{{.+}} : tensor<1x1x5x3xf32>) outs(%{{.+}} : tensor<1x1x5xf32>)
// CHECK:         %[[SUM1:.+]] = linalg.generic
// CHECK-SAME:      ins(%{{.+}}, %[[MAX1]] : tensor<1x1x5x3xf32>, tensor<1x1x5xf32>) outs(%{{.+}} : tensor<1x1x5xf32>)
// CHECK:         %[[O1:.+]] = linalg.generic
// CHECK-SAME:      ins(%{{.+}}, %[[MAX1]], %[[SUM1]], %[[V1]] : tensor<1x1x5x3xf32>, tensor<1x1x5xf32>, tensor<1x1x5xf32>, tensor<1x1x3x6xf32>)
// CHECK-SAME:      outs(%[[O0]] : tensor<1x1x5x6xf32>)
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[Q]], %[[K2]] : tensor<1x1x5x4xf32>, tensor<1x1x2x4xf32>)
// CHECK:           arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK:         %[[MAX2:.+]] = linalg.generic
// CHECK-SAME:      ins(%{{.+}} : tensor<1x1x5x2xf32>) outs(%{{.+}} : tensor<1x1x5xf32>)
// CHECK:         %[[SUM2:.+]] = linalg.generic
// CHECK-SAME:      ins(%{{.+}}, %[[MAX2]] : tensor<1x1x5x2xf32>, tensor<1x1x5xf32>) outs(%{{.+}} : tensor<1x1x5xf32>)
// CHECK:         %[[O2:.+]] = linalg.generic
// CHECK-SAME:      ins(%{{.+}}, %[[MAX2]], %[[SUM2]], %[[V2]] : tensor<1x1x5x2xf32>, tensor<1x1x5xf32>, tensor<1x1x5xf32>, tensor<1x1x2x6xf32>)
// CHECK-SAME:      outs(%[[O1]] : tensor<1x1x5x6xf32>)
// CHECK:         return %[[O2]] : tensor<1x1x5x6xf32>
func.func @attention_two_pairs(%q: tensor<1x1x5x4xf32>, %k1: tensor<1x1x3x4xf32>, %v1: tensor<1x1x3x6xf32>, %k2: tensor<1x1x2x4xf32>, %v2: tensor<1x1x2x6xf32>) -> tensor<1x1x5x6xf32> {
  %o_init = tensor.empty() : tensor<1x1x5x6xf32>
  %o = clus.attention %q, [%k1, %v1], [%k2, %v2] scale = 2.500000e-01 outs(%o_init)
      : tensor<1x1x5x4xf32>, [tensor<1x1x3x4xf32>, tensor<1x1x3x6xf32>], [tensor<1x1x2x4xf32>, tensor<1x1x2x6xf32>]
      -> tensor<1x1x5x6xf32>
  return %o : tensor<1x1x5x6xf32>
}

// -----

// Dynamic f16: the default scale 1/sqrt(D) is computed at run time from
// tensor.dim %q, 3; Q, K and V are extended in the payloads and the output is
// truncated to f16.

// CHECK-LABEL: func.func @attention_f16_dynamic
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x?x?x?xf16>, %[[K:[^:]+]]: tensor<?x?x?x?xf16>, %[[V:[^:]+]]: tensor<?x?x?x?xf16>, %{{[^:]+}}: tensor<?x?x?x?xf16>)
// CHECK:         %[[C3:.+]] = arith.constant 3 : index
// CHECK-NEXT:    %[[D:.+]] = tensor.dim %[[Q]], %[[C3]] : tensor<?x?x?x?xf16>
// CHECK-NEXT:    %[[DI:.+]] = arith.index_cast %[[D]] : index to i64
// CHECK-NEXT:    %[[DF:.+]] = arith.sitofp %[[DI]] : i64 to f32
// CHECK-NEXT:    %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[SQ:.+]] = math.sqrt %[[DF]] : f32
// CHECK-NEXT:    %[[SCALE:.+]] = arith.divf %[[ONE]], %[[SQ]] : f32
// CHECK:         %[[DV:.+]] = tensor.dim %[[V]], %{{.+}} : tensor<?x?x?x?xf16>
// CHECK-NEXT:    tensor.empty(%{{.+}}, %{{.+}}, %{{.+}}, %[[DV]]) : tensor<?x?x?x?xf32>
// CHECK:         %[[M:.+]] = tensor.dim %[[K]], %{{.+}} : tensor<?x?x?x?xf16>
// CHECK-NEXT:    tensor.empty(%{{.+}}, %{{.+}}, %{{.+}}, %[[M]]) : tensor<?x?x?x?xf32>
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[Q]], %[[K]] : tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>)
// CHECK-COUNT-2:   arith.extf %{{.+}} : f16 to f32
// CHECK:           arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK:         %[[MAX:.+]] = linalg.generic
// CHECK-SAME:      outs(%{{.+}} : tensor<?x?x?xf32>)
// CHECK:         %[[SUM:.+]] = linalg.generic
// CHECK-SAME:      outs(%{{.+}} : tensor<?x?x?xf32>)
// CHECK:         %[[O:.+]] = linalg.generic
// CHECK-SAME:      ins(%{{.+}}, %[[MAX]], %[[SUM]], %[[V]] : tensor<?x?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?x?xf16>)
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:         %[[R:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[O]] : tensor<?x?x?x?xf32>) outs(%{{.+}} : tensor<?x?x?x?xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[R]] : tensor<?x?x?x?xf16>
func.func @attention_f16_dynamic(%q: tensor<?x?x?x?xf16>, %k: tensor<?x?x?x?xf16>, %v: tensor<?x?x?x?xf16>, %o_init: tensor<?x?x?x?xf16>) -> tensor<?x?x?x?xf16> {
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x?x?x?xf16>, [tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>]
      -> tensor<?x?x?x?xf16>
  return %o : tensor<?x?x?x?xf16>
}

// -----

// bf16 with a dynamic token count only and D = 16: the scale folds to the
// constant 1/sqrt(16).

// CHECK-LABEL: func.func @attention_bf16_dynamic_tokens
// CHECK:         arith.constant 2.500000e-01 : f32
// CHECK-NOT:     math.sqrt
// CHECK:         arith.extf %{{.+}} : bf16 to f32
// CHECK:         arith.truncf %{{.+}} : f32 to bf16
// CHECK:         return %{{.+}} : tensor<2x1x?x8xbf16>
func.func @attention_bf16_dynamic_tokens(%q: tensor<2x1x?x16xbf16>, %k: tensor<2x1x3x16xbf16>, %v: tensor<2x1x3x8xbf16>, %o_init: tensor<2x1x?x8xbf16>) -> tensor<2x1x?x8xbf16> {
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<2x1x?x16xbf16>, [tensor<2x1x3x16xbf16>, tensor<2x1x3x8xbf16>]
      -> tensor<2x1x?x8xbf16>
  return %o : tensor<2x1x?x8xbf16>
}

// -----

// B, H and D are static only in K/V: the result is cast to the inferred
// static type. The default scale is taken from Q's D, dynamic here, so it is
// computed at run time.

// CHECK-LABEL: func.func @attention_refined_result_type
// CHECK:         math.sqrt
// CHECK:         %[[O:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<?x?x5x6xf32>)
// CHECK:         %[[C:.+]] = tensor.cast %[[O]] : tensor<?x?x5x6xf32> to tensor<1x2x5x6xf32>
// CHECK-NEXT:    return %[[C]] : tensor<1x2x5x6xf32>
func.func @attention_refined_result_type(%q: tensor<?x?x5x?xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x6xf32>) -> tensor<1x2x5x6xf32> {
  %o_init = tensor.empty() : tensor<1x2x5x6xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x?x5x?xf32>, [tensor<1x2x3x4xf32>, tensor<1x2x3x6xf32>]
      -> tensor<1x2x5x6xf32>
  return %o : tensor<1x2x5x6xf32>
}

// RUN: clusopt-opt %s | clusopt-opt | FileCheck %s
// RUN: clusopt-opt %s --mlir-print-op-generic | clusopt-opt | FileCheck %s
// RUN: clusopt-opt %s --emit-bytecode | clusopt-opt | FileCheck %s

// Round trip of every clus op and attribute variant, with static and dynamic
// dims and every element type, each in destination-passing style: the
// destinations are empty tensors of the type the verifier derives from the
// inputs, and the `return` lines check that the results have it.

//===----------------------------------------------------------------------===//
// soft_assign
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @soft_assign_tokens
// CHECK-SAME:    (%[[L:[^:]+]]: tensor<2x100x196xf32>)
// CHECK:         %[[Z:.+]] = clus.soft_assign %[[L]] outs({{.+}}) : tensor<2x100x196xf32>
// CHECK-NEXT:    return %[[Z]] : tensor<2x100x196xf32>
func.func @soft_assign_tokens(%l: tensor<2x100x196xf32>) -> tensor<2x100x196xf32> {
  %z_init = tensor.empty() : tensor<2x100x196xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<2x100x196xf32>
  return %z : tensor<2x100x196xf32>
}

// The default axis is elided when written out.
// CHECK-LABEL: func.func @soft_assign_explicit_default
// CHECK:         clus.soft_assign %{{.+}} outs({{.+}}) : tensor<1x4x7xbf16>
func.func @soft_assign_explicit_default(%l: tensor<1x4x7xbf16>) -> tensor<1x4x7xbf16> {
  %z_init = tensor.empty() : tensor<1x4x7xbf16>
  %z = clus.soft_assign %l axis = tokens outs(%z_init) : tensor<1x4x7xbf16>
  return %z : tensor<1x4x7xbf16>
}

// CHECK-LABEL: func.func @soft_assign_clusters_dynamic
// CHECK:         %[[Z:.+]] = clus.soft_assign %{{.+}} axis = clusters outs({{.+}}) : tensor<?x100x?xf16>
// CHECK-NEXT:    return %[[Z]] : tensor<?x100x?xf16>
func.func @soft_assign_clusters_dynamic(%l: tensor<?x100x?xf16>) -> tensor<?x100x?xf16> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x100x?xf16>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %l, %z_init_c2 : tensor<?x100x?xf16>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x100x?xf16>
  %z = clus.soft_assign %l axis = clusters outs(%z_init) : tensor<?x100x?xf16>
  return %z : tensor<?x100x?xf16>
}

//===----------------------------------------------------------------------===//
// pool
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @pool_static
// CHECK-SAME:    (%[[Z:[^:]+]]: tensor<2x100x3136xf32>, %[[X:[^:]+]]: tensor<2x3136x96xf32>)
// CHECK:         %[[Y:.+]] = clus.pool %[[Z]], %[[X]] outs({{.+}}) : tensor<2x100x3136xf32>, tensor<2x3136x96xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x100x96xf32>
func.func @pool_static(%z: tensor<2x100x3136xf32>, %x: tensor<2x3136x96xf32>) -> tensor<2x100x96xf32> {
  %y_init = tensor.empty() : tensor<2x100x96xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x100x3136xf32>, tensor<2x3136x96xf32> -> tensor<2x100x96xf32>
  return %y : tensor<2x100x96xf32>
}

// B is known from `x` only; the result takes the static size.
// CHECK-LABEL: func.func @pool_dynamic
// CHECK:         %[[Y:.+]] = clus.pool %{{.+}}, %{{.+}} outs({{.+}}) : tensor<?x100x?xbf16>, tensor<2x?x96xbf16>
// CHECK-NEXT:    return %[[Y]] : tensor<2x100x96xbf16>
func.func @pool_dynamic(%z: tensor<?x100x?xbf16>, %x: tensor<2x?x96xbf16>) -> tensor<2x100x96xbf16> {
  %y_init = tensor.empty() : tensor<2x100x96xbf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x100x?xbf16>, tensor<2x?x96xbf16> -> tensor<2x100x96xbf16>
  return %y : tensor<2x100x96xbf16>
}

// CHECK-LABEL: func.func @pool_all_dynamic
// CHECK:         %[[Y:.+]] = clus.pool %{{.+}}, %{{.+}} outs({{.+}}) : tensor<?x?x?xf16>, tensor<?x?x?xf16>
// CHECK-NEXT:    return %[[Y]] : tensor<?x?x?xf16>
func.func @pool_all_dynamic(%z: tensor<?x?x?xf16>, %x: tensor<?x?x?xf16>) -> tensor<?x?x?xf16> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %z, %y_init_c0 : tensor<?x?x?xf16>
  %y_init_c1 = arith.constant 1 : index
  %y_init_d1 = tensor.dim %z, %y_init_c1 : tensor<?x?x?xf16>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf16>
  %y_init = tensor.empty(%y_init_d0, %y_init_d1, %y_init_d2) : tensor<?x?x?xf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x?x?xf16>, tensor<?x?x?xf16> -> tensor<?x?x?xf16>
  return %y : tensor<?x?x?xf16>
}

//===----------------------------------------------------------------------===//
// kmeans
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @kmeans_default
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<2x196x64xf32>)
// CHECK:         %[[A:[^ ,]+]], %[[C:[^ ,]+]] = clus.kmeans %[[X]] clusters = 49 iterations = 10 outs({{.+}}) : tensor<2x196x64xf32>
// CHECK-NEXT:    return %[[A]], %[[C]] : tensor<2x196xi32>, tensor<2x49x64xf32>
func.func @kmeans_default(%x: tensor<2x196x64xf32>) -> (tensor<2x196xi32>, tensor<2x49x64xf32>) {
  %a_init = tensor.empty() : tensor<2x196xi32>
  %c_init = tensor.empty() : tensor<2x49x64xf32>
  %a, %c = clus.kmeans %x clusters = 49 iterations = 10 outs(%a_init, %c_init)
      : tensor<2x196x64xf32> -> tensor<2x196xi32>, tensor<2x49x64xf32>
  return %a, %c : tensor<2x196xi32>, tensor<2x49x64xf32>
}

// CHECK-LABEL: func.func @kmeans_init_cosine
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<2x196x64xf16>, %[[MU:[^:]+]]: tensor<2x49x64xf16>)
// CHECK:         %[[A:[^ ,]+]], %[[C:[^ ,]+]] = clus.kmeans %[[X]] init(%[[MU]] : tensor<2x49x64xf16>) clusters = 49 iterations = 3 metric = cosine outs({{.+}}) : tensor<2x196x64xf16>
// CHECK-NEXT:    return %[[A]], %[[C]] : tensor<2x196xi32>, tensor<2x49x64xf16>
func.func @kmeans_init_cosine(%x: tensor<2x196x64xf16>, %mu: tensor<2x49x64xf16>) -> (tensor<2x196xi32>, tensor<2x49x64xf16>) {
  %a_init = tensor.empty() : tensor<2x196xi32>
  %c_init = tensor.empty() : tensor<2x49x64xf16>
  %a, %c = clus.kmeans %x init(%mu : tensor<2x49x64xf16>) clusters = 49 iterations = 3 metric = cosine outs(%a_init, %c_init)
      : tensor<2x196x64xf16> -> tensor<2x196xi32>, tensor<2x49x64xf16>
  return %a, %c : tensor<2x196xi32>, tensor<2x49x64xf16>
}

// An explicit l2 metric is the default and is elided.
// CHECK-LABEL: func.func @kmeans_init_l2
// CHECK:         clus.kmeans %{{.+}} init(%{{.+}} : tensor<1x2x8xbf16>) clusters = 2 iterations = 1 outs({{.+}}) : tensor<1x7x8xbf16>
// CHECK-NEXT:    return %{{.+}}, %{{.+}} : tensor<1x7xi32>, tensor<1x2x8xbf16>
func.func @kmeans_init_l2(%x: tensor<1x7x8xbf16>, %mu: tensor<1x2x8xbf16>) -> (tensor<1x7xi32>, tensor<1x2x8xbf16>) {
  %a_init = tensor.empty() : tensor<1x7xi32>
  %c_init = tensor.empty() : tensor<1x2x8xbf16>
  %a, %c = clus.kmeans %x init(%mu : tensor<1x2x8xbf16>) clusters = 2 iterations = 1 metric = l2 outs(%a_init, %c_init)
      : tensor<1x7x8xbf16> -> tensor<1x7xi32>, tensor<1x2x8xbf16>
  return %a, %c : tensor<1x7xi32>, tensor<1x2x8xbf16>
}

// With a dynamic N the verifier cannot check M <= N; the runtime does.
// CHECK-LABEL: func.func @kmeans_dynamic_tokens
// CHECK:         clus.kmeans %{{.+}} clusters = 4096 iterations = 2 metric = cosine outs({{.+}}) : tensor<?x?x32xf32>
// CHECK-NEXT:    return %{{.+}}, %{{.+}} : tensor<?x?xi32>, tensor<?x4096x32xf32>
func.func @kmeans_dynamic_tokens(%x: tensor<?x?x32xf32>) -> (tensor<?x?xi32>, tensor<?x4096x32xf32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x32xf32>
  %a_init_c1 = arith.constant 1 : index
  %a_init_d1 = tensor.dim %x, %a_init_c1 : tensor<?x?x32xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d1) : tensor<?x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x32xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x4096x32xf32>
  %a, %c = clus.kmeans %x clusters = 4096 iterations = 2 metric = cosine outs(%a_init, %c_init)
      : tensor<?x?x32xf32> -> tensor<?x?xi32>, tensor<?x4096x32xf32>
  return %a, %c : tensor<?x?xi32>, tensor<?x4096x32xf32>
}

// Dims that `x` leaves dynamic are taken from `init`.
// CHECK-LABEL: func.func @kmeans_init_refines
// CHECK:         clus.kmeans %{{.+}} init(%{{.+}} : tensor<2x?x16xf32>) clusters = 8 iterations = 5 outs({{.+}}) : tensor<?x64x?xf32>
// CHECK-NEXT:    return %{{.+}}, %{{.+}} : tensor<2x64xi32>, tensor<2x8x16xf32>
func.func @kmeans_init_refines(%x: tensor<?x64x?xf32>, %mu: tensor<2x?x16xf32>) -> (tensor<2x64xi32>, tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x64xi32>
  %c_init = tensor.empty() : tensor<2x8x16xf32>
  %a, %c = clus.kmeans %x init(%mu : tensor<2x?x16xf32>) clusters = 8 iterations = 5 outs(%a_init, %c_init)
      : tensor<?x64x?xf32> -> tensor<2x64xi32>, tensor<2x8x16xf32>
  return %a, %c : tensor<2x64xi32>, tensor<2x8x16xf32>
}

// M == N is allowed.
// CHECK-LABEL: func.func @kmeans_m_equals_n
// CHECK:         clus.kmeans %{{.+}} clusters = 7 iterations = 1 outs({{.+}}) : tensor<1x7x3xf32>
func.func @kmeans_m_equals_n(%x: tensor<1x7x3xf32>) -> (tensor<1x7xi32>, tensor<1x7x3xf32>) {
  %a_init = tensor.empty() : tensor<1x7xi32>
  %c_init = tensor.empty() : tensor<1x7x3xf32>
  %a, %c = clus.kmeans %x clusters = 7 iterations = 1 outs(%a_init, %c_init)
      : tensor<1x7x3xf32> -> tensor<1x7xi32>, tensor<1x7x3xf32>
  return %a, %c : tensor<1x7xi32>, tensor<1x7x3xf32>
}

//===----------------------------------------------------------------------===//
// dpc_knn
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @dpc_knn_one_scale
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<1x3136x64xf32>)
// CHECK:         %[[A:[^ ,]+]], %[[C:[^ ,]+]] = clus.dpc_knn %[[X]] clusters = [49] outs({{.+}}) : tensor<1x3136x64xf32>
// CHECK-NEXT:    return %[[A]], %[[C]] : tensor<1x1x3136xi32>, tensor<1x1x49xi32>
func.func @dpc_knn_one_scale(%x: tensor<1x3136x64xf32>) -> (tensor<1x1x3136xi32>, tensor<1x1x49xi32>) {
  %a_init = tensor.empty() : tensor<1x1x3136xi32>
  %c_init = tensor.empty() : tensor<1x1x49xi32>
  %a, %c = clus.dpc_knn %x clusters = [49] outs(%a_init, %c_init)
      : tensor<1x3136x64xf32> -> tensor<1x1x3136xi32>, tensor<1x1x49xi32>
  return %a, %c : tensor<1x1x3136xi32>, tensor<1x1x49xi32>
}

// `centers` is as wide as the largest scale, wherever it is in the list.
// CHECK-LABEL: func.func @dpc_knn_two_scales
// CHECK:         %[[A:[^ ,]+]], %[[C:[^ ,]+]] = clus.dpc_knn %{{.+}} clusters = [196, 49] k = 3 outs({{.+}}) : tensor<2x3136x64xf16>
// CHECK-NEXT:    return %[[A]], %[[C]] : tensor<2x2x3136xi32>, tensor<2x2x196xi32>
func.func @dpc_knn_two_scales(%x: tensor<2x3136x64xf16>) -> (tensor<2x2x3136xi32>, tensor<2x2x196xi32>) {
  %a_init = tensor.empty() : tensor<2x2x3136xi32>
  %c_init = tensor.empty() : tensor<2x2x196xi32>
  %a, %c = clus.dpc_knn %x clusters = [196, 49] k = 3 outs(%a_init, %c_init)
      : tensor<2x3136x64xf16> -> tensor<2x2x3136xi32>, tensor<2x2x196xi32>
  return %a, %c : tensor<2x2x3136xi32>, tensor<2x2x196xi32>
}

// An explicit k = 5 is the default and is elided.
// CHECK-LABEL: func.func @dpc_knn_explicit_default_k
// CHECK:         clus.dpc_knn %{{.+}} clusters = [8, 8] outs({{.+}}) : tensor<1x8x4xbf16>
// CHECK-NEXT:    return %{{.+}}, %{{.+}} : tensor<1x2x8xi32>, tensor<1x2x8xi32>
func.func @dpc_knn_explicit_default_k(%x: tensor<1x8x4xbf16>) -> (tensor<1x2x8xi32>, tensor<1x2x8xi32>) {
  %a_init = tensor.empty() : tensor<1x2x8xi32>
  %c_init = tensor.empty() : tensor<1x2x8xi32>
  %a, %c = clus.dpc_knn %x clusters = [8, 8] k = 5 outs(%a_init, %c_init)
      : tensor<1x8x4xbf16> -> tensor<1x2x8xi32>, tensor<1x2x8xi32>
  return %a, %c : tensor<1x2x8xi32>, tensor<1x2x8xi32>
}

// With a dynamic N any positive cluster count is accepted.
// CHECK-LABEL: func.func @dpc_knn_dynamic
// CHECK:         clus.dpc_knn %{{.+}} clusters = [8, 1000] k = 1 outs({{.+}}) : tensor<?x?x64xbf16>
// CHECK-NEXT:    return %{{.+}}, %{{.+}} : tensor<?x2x?xi32>, tensor<?x2x1000xi32>
func.func @dpc_knn_dynamic(%x: tensor<?x?x64xbf16>) -> (tensor<?x2x?xi32>, tensor<?x2x1000xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x64xbf16>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x64xbf16>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x64xbf16>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x1000xi32>
  %a, %c = clus.dpc_knn %x clusters = [8, 1000] k = 1 outs(%a_init, %c_init)
      : tensor<?x?x64xbf16> -> tensor<?x2x?xi32>, tensor<?x2x1000xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x1000xi32>
}

//===----------------------------------------------------------------------===//
// aggregate
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @aggregate_sum
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<2x3136x64xf32>, %[[A:[^:]+]]: tensor<2x3136xi32>)
// CHECK:         %[[Y:.+]] = clus.aggregate %[[X]], %[[A]] clusters = 49 outs({{.+}}) : tensor<2x3136x64xf32>, tensor<2x3136xi32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x49x64xf32>
func.func @aggregate_sum(%x: tensor<2x3136x64xf32>, %a: tensor<2x3136xi32>) -> tensor<2x49x64xf32> {
  %y_init = tensor.empty() : tensor<2x49x64xf32>
  %y = clus.aggregate %x, %a clusters = 49 reduction = sum outs(%y_init)
      : tensor<2x3136x64xf32>, tensor<2x3136xi32> -> tensor<2x49x64xf32>
  return %y : tensor<2x49x64xf32>
}

// CHECK-LABEL: func.func @aggregate_mean
// CHECK:         %[[Y:.+]] = clus.aggregate %{{.+}}, %{{.+}} clusters = 49 reduction = mean outs({{.+}}) : tensor<?x?x64xf16>, tensor<?x?xi32>
// CHECK-NEXT:    return %[[Y]] : tensor<?x49x64xf16>
func.func @aggregate_mean(%x: tensor<?x?x64xf16>, %a: tensor<?x?xi32>) -> tensor<?x49x64xf16> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x64xf16>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x49x64xf16>
  %y = clus.aggregate %x, %a clusters = 49 reduction = mean outs(%y_init)
      : tensor<?x?x64xf16>, tensor<?x?xi32> -> tensor<?x49x64xf16>
  return %y : tensor<?x49x64xf16>
}

// An explicit eps on `sum` is kept even though it is unused.
// CHECK-LABEL: func.func @aggregate_sum_eps
// CHECK:         clus.aggregate %{{.+}}, %{{.+}} clusters = 3 eps = 0.000000e+00 outs({{.+}}) : tensor<1x5x2xf32>, tensor<1x5xi32>
func.func @aggregate_sum_eps(%x: tensor<1x5x2xf32>, %a: tensor<1x5xi32>) -> tensor<1x3x2xf32> {
  %y_init = tensor.empty() : tensor<1x3x2xf32>
  %y = clus.aggregate %x, %a clusters = 3 eps = 0.0 outs(%y_init)
      : tensor<1x5x2xf32>, tensor<1x5xi32> -> tensor<1x3x2xf32>
  return %y : tensor<1x3x2xf32>
}

// CHECK-LABEL: func.func @aggregate_weighted_mean
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<2x3136x64xbf16>, %[[A:[^:]+]]: tensor<2x3136xi32>, %[[W:[^:]+]]: tensor<2x3136xbf16>)
// CHECK:         %[[Y:.+]] = clus.aggregate %[[X]], %[[A]] weights(%[[W]] : tensor<2x3136xbf16>) clusters = 49 reduction = weighted_mean outs({{.+}}) : tensor<2x3136x64xbf16>, tensor<2x3136xi32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x49x64xbf16>
func.func @aggregate_weighted_mean(%x: tensor<2x3136x64xbf16>, %a: tensor<2x3136xi32>, %w: tensor<2x3136xbf16>) -> tensor<2x49x64xbf16> {
  %y_init = tensor.empty() : tensor<2x49x64xbf16>
  %y = clus.aggregate %x, %a weights(%w : tensor<2x3136xbf16>) clusters = 49 reduction = weighted_mean outs(%y_init)
      : tensor<2x3136x64xbf16>, tensor<2x3136xi32> -> tensor<2x49x64xbf16>
  return %y : tensor<2x49x64xbf16>
}

// CHECK-LABEL: func.func @aggregate_weighted_mean_eps
// CHECK:         %[[Y:.+]] = clus.aggregate %{{.+}}, %{{.+}} weights(%{{.+}} : tensor<?x?xf32>) clusters = 8 reduction = weighted_mean eps = 1.250000e-01 outs({{.+}}) : tensor<?x49x?xf32>, tensor<4x?xi32>
// CHECK-NEXT:    return %[[Y]] : tensor<4x8x?xf32>
func.func @aggregate_weighted_mean_eps(%x: tensor<?x49x?xf32>, %a: tensor<4x?xi32>, %w: tensor<?x?xf32>) -> tensor<4x8x?xf32> {
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x49x?xf32>
  %y_init = tensor.empty(%y_init_d2) : tensor<4x8x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 8 reduction = weighted_mean eps = 0.125 outs(%y_init)
      : tensor<?x49x?xf32>, tensor<4x?xi32> -> tensor<4x8x?xf32>
  return %y : tensor<4x8x?xf32>
}

// More clusters than tokens is fine: the extra rows are empty clusters.
// CHECK-LABEL: func.func @aggregate_more_clusters_than_tokens
// CHECK:         clus.aggregate %{{.+}}, %{{.+}} clusters = 16 reduction = mean outs({{.+}}) : tensor<1x4x8xf32>, tensor<1x4xi32>
// CHECK-NEXT:    return %{{.+}} : tensor<1x16x8xf32>
func.func @aggregate_more_clusters_than_tokens(%x: tensor<1x4x8xf32>, %a: tensor<1x4xi32>) -> tensor<1x16x8xf32> {
  %y_init = tensor.empty() : tensor<1x16x8xf32>
  %y = clus.aggregate %x, %a clusters = 16 reduction = mean outs(%y_init)
      : tensor<1x4x8xf32>, tensor<1x4xi32> -> tensor<1x16x8xf32>
  return %y : tensor<1x16x8xf32>
}

//===----------------------------------------------------------------------===//
// broadcast
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @broadcast_static
// CHECK-SAME:    (%[[Y:[^:]+]]: tensor<2x49x64xf32>, %[[A:[^:]+]]: tensor<2x3136xi32>)
// CHECK:         %[[X:.+]] = clus.broadcast %[[Y]], %[[A]] outs({{.+}}) : tensor<2x49x64xf32>, tensor<2x3136xi32>
// CHECK-NEXT:    return %[[X]] : tensor<2x3136x64xf32>
func.func @broadcast_static(%y: tensor<2x49x64xf32>, %a: tensor<2x3136xi32>) -> tensor<2x3136x64xf32> {
  %x_init = tensor.empty() : tensor<2x3136x64xf32>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x49x64xf32>, tensor<2x3136xi32> -> tensor<2x3136x64xf32>
  return %x : tensor<2x3136x64xf32>
}

// CHECK-LABEL: func.func @broadcast_dynamic
// CHECK:         %[[X:.+]] = clus.broadcast %{{.+}}, %{{.+}} outs({{.+}}) : tensor<?x?x64xf16>, tensor<3x?xi32>
// CHECK-NEXT:    return %[[X]] : tensor<3x?x64xf16>
func.func @broadcast_dynamic(%y: tensor<?x?x64xf16>, %a: tensor<3x?xi32>) -> tensor<3x?x64xf16> {
  %x_init_c1 = arith.constant 1 : index
  %x_init_d1 = tensor.dim %a, %x_init_c1 : tensor<3x?xi32>
  %x_init = tensor.empty(%x_init_d1) : tensor<3x?x64xf16>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<?x?x64xf16>, tensor<3x?xi32> -> tensor<3x?x64xf16>
  return %x : tensor<3x?x64xf16>
}

// CHECK-LABEL: func.func @broadcast_bf16
// CHECK:         clus.broadcast %{{.+}}, %{{.+}} outs({{.+}}) : tensor<1x2x3xbf16>, tensor<?x5xi32>
// CHECK-NEXT:    return %{{.+}} : tensor<1x5x3xbf16>
func.func @broadcast_bf16(%y: tensor<1x2x3xbf16>, %a: tensor<?x5xi32>) -> tensor<1x5x3xbf16> {
  %x_init = tensor.empty() : tensor<1x5x3xbf16>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<1x2x3xbf16>, tensor<?x5xi32> -> tensor<1x5x3xbf16>
  return %x : tensor<1x5x3xbf16>
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @attention_one_scale
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x2x3136x48xf32>, %[[K:[^:]+]]: tensor<1x2x100x48xf32>, %[[V:[^:]+]]: tensor<1x2x100x48xf32>)
// CHECK:         %[[O:.+]] = clus.attention %[[Q]], [%[[K]], %[[V]]] outs({{.+}}) : tensor<1x2x3136x48xf32>, [tensor<1x2x100x48xf32>, tensor<1x2x100x48xf32>]
// CHECK-NEXT:    return %[[O]] : tensor<1x2x3136x48xf32>
func.func @attention_one_scale(%q: tensor<1x2x3136x48xf32>, %k: tensor<1x2x100x48xf32>, %v: tensor<1x2x100x48xf32>) -> tensor<1x2x3136x48xf32> {
  %o_init = tensor.empty() : tensor<1x2x3136x48xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x3136x48xf32>, [tensor<1x2x100x48xf32>, tensor<1x2x100x48xf32>]
      -> tensor<1x2x3136x48xf32>
  return %o : tensor<1x2x3136x48xf32>
}

// The result takes Dv from the values.
// CHECK-LABEL: func.func @attention_one_scale_dv
// CHECK:         %[[O:.+]] = clus.attention %{{.+}}, [%{{.+}}, %{{.+}}] scale = 2.500000e-01 outs({{.+}}) : tensor<2x4x?x32xf16>, [tensor<2x4x?x32xf16>, tensor<2x4x?x80xf16>]
// CHECK-NEXT:    return %[[O]] : tensor<2x4x?x80xf16>
func.func @attention_one_scale_dv(%q: tensor<2x4x?x32xf16>, %k: tensor<2x4x?x32xf16>, %v: tensor<2x4x?x80xf16>) -> tensor<2x4x?x80xf16> {
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<2x4x?x32xf16>
  %o_init = tensor.empty(%o_init_d2) : tensor<2x4x?x80xf16>
  %o = clus.attention %q, [%k, %v] scale = 0.25 outs(%o_init)
      : tensor<2x4x?x32xf16>, [tensor<2x4x?x32xf16>, tensor<2x4x?x80xf16>]
      -> tensor<2x4x?x80xf16>
  return %o : tensor<2x4x?x80xf16>
}

// Two scales with different cluster counts; pairs stay in order.
// CHECK-LABEL: func.func @attention_two_scales
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x1x3136x64xf32>, %[[K1:[^:]+]]: tensor<1x1x49x64xf32>, %[[V1:[^:]+]]: tensor<1x1x49x64xf32>, %[[K2:[^:]+]]: tensor<1x1x196x64xf32>, %[[V2:[^:]+]]: tensor<1x1x196x64xf32>)
// CHECK:         %[[O:.+]] = clus.attention %[[Q]], [%[[K1]], %[[V1]]], [%[[K2]], %[[V2]]] scale = 1.250000e-01 outs({{.+}}) : tensor<1x1x3136x64xf32>, [tensor<1x1x49x64xf32>, tensor<1x1x49x64xf32>], [tensor<1x1x196x64xf32>, tensor<1x1x196x64xf32>]
// CHECK-NEXT:    return %[[O]] : tensor<1x1x3136x64xf32>
func.func @attention_two_scales(%q: tensor<1x1x3136x64xf32>, %k1: tensor<1x1x49x64xf32>, %v1: tensor<1x1x49x64xf32>, %k2: tensor<1x1x196x64xf32>, %v2: tensor<1x1x196x64xf32>) -> tensor<1x1x3136x64xf32> {
  %o_init = tensor.empty() : tensor<1x1x3136x64xf32>
  %o = clus.attention %q, [%k1, %v1], [%k2, %v2] scale = 0.125 outs(%o_init)
      : tensor<1x1x3136x64xf32>, [tensor<1x1x49x64xf32>, tensor<1x1x49x64xf32>], [tensor<1x1x196x64xf32>, tensor<1x1x196x64xf32>]
      -> tensor<1x1x3136x64xf32>
  return %o : tensor<1x1x3136x64xf32>
}

// Two scales, no scale attribute, Dv != D, dynamic dims resolved across
// scales: H comes from the first key, Dv from the second value.
// CHECK-LABEL: func.func @attention_two_scales_dynamic
// CHECK:         %[[O:.+]] = clus.attention %{{.+}}, [%{{.+}}, %{{.+}}], [%{{.+}}, %{{.+}}] outs({{.+}}) : tensor<?x?x?x?xbf16>, [tensor<?x8x?x?xbf16>, tensor<?x?x?x?xbf16>], [tensor<?x?x?x?xbf16>, tensor<?x?x?x40xbf16>]
// CHECK-NEXT:    return %[[O]] : tensor<?x8x?x40xbf16>
func.func @attention_two_scales_dynamic(%q: tensor<?x?x?x?xbf16>, %k1: tensor<?x8x?x?xbf16>, %v1: tensor<?x?x?x?xbf16>, %k2: tensor<?x?x?x?xbf16>, %v2: tensor<?x?x?x40xbf16>) -> tensor<?x8x?x40xbf16> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x?x?x?xbf16>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x?x?x?xbf16>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x8x?x40xbf16>
  %o = clus.attention %q, [%k1, %v1], [%k2, %v2] outs(%o_init)
      : tensor<?x?x?x?xbf16>, [tensor<?x8x?x?xbf16>, tensor<?x?x?x?xbf16>], [tensor<?x?x?x?xbf16>, tensor<?x?x?x40xbf16>]
      -> tensor<?x8x?x40xbf16>
  return %o : tensor<?x8x?x40xbf16>
}

//===----------------------------------------------------------------------===//
// topk_members
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @topk_members
// CHECK-SAME:    (%[[G:[^:]+]]: tensor<1x196x14xf32>)
// CHECK:         %[[M:.+]] = clus.topk_members %[[G]] capacity = 28 outs({{.+}}) : tensor<1x196x14xf32>
// CHECK-NEXT:    return %[[M]] : tensor<1x14x28xi32>
func.func @topk_members(%g: tensor<1x196x14xf32>) -> tensor<1x14x28xi32> {
  %m_init = tensor.empty() : tensor<1x14x28xi32>
  %m = clus.topk_members %g capacity = 28 outs(%m_init)
      : tensor<1x196x14xf32> -> tensor<1x14x28xi32>
  return %m : tensor<1x14x28xi32>
}

// Capacity may exceed N; the spare slots hold -1.
// CHECK-LABEL: func.func @topk_members_exclusive
// CHECK:         %[[M:.+]] = clus.topk_members %{{.+}} capacity = 300 exclusive outs({{.+}}) : tensor<?x196x14xf16>
// CHECK-NEXT:    return %[[M]] : tensor<?x14x300xi32>
func.func @topk_members_exclusive(%g: tensor<?x196x14xf16>) -> tensor<?x14x300xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x196x14xf16>
  %m_init = tensor.empty(%m_init_d0) : tensor<?x14x300xi32>
  %m = clus.topk_members %g capacity = 300 exclusive outs(%m_init)
      : tensor<?x196x14xf16> -> tensor<?x14x300xi32>
  return %m : tensor<?x14x300xi32>
}

// CHECK-LABEL: func.func @topk_members_dynamic
// CHECK:         clus.topk_members %{{.+}} capacity = 1 outs({{.+}}) : tensor<?x?x?xbf16>
// CHECK-NEXT:    return %{{.+}} : tensor<?x?x1xi32>
func.func @topk_members_dynamic(%g: tensor<?x?x?xbf16>) -> tensor<?x?x1xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xbf16>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xbf16>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x1xi32>
  %m = clus.topk_members %g capacity = 1 outs(%m_init)
      : tensor<?x?x?xbf16> -> tensor<?x?x1xi32>
  return %m : tensor<?x?x1xi32>
}

//===----------------------------------------------------------------------===//
// cluster_attention
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @cluster_attention
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<1x3x196x64xf32>, %[[K:[^:]+]]: tensor<1x3x196x64xf32>, %[[V:[^:]+]]: tensor<1x3x196x64xf32>, %[[M:[^:]+]]: tensor<1x14x28xi32>, %[[AQ:[^:]+]]: tensor<1x3x196x14xf32>, %[[AK:[^:]+]]: tensor<1x3x196x14xf32>)
// CHECK:         %[[O:.+]] = clus.cluster_attention %[[Q]], %[[K]], %[[V]] members(%[[M]]) affinities(%[[AQ]], %[[AK]]) outs({{.+}}) : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>, tensor<1x14x28xi32>, tensor<1x3x196x14xf32>, tensor<1x3x196x14xf32>
// CHECK-NEXT:    return %[[O]] : tensor<1x3x196x64xf32>
func.func @cluster_attention(%q: tensor<1x3x196x64xf32>, %k: tensor<1x3x196x64xf32>, %v: tensor<1x3x196x64xf32>, %m: tensor<1x14x28xi32>, %aq: tensor<1x3x196x14xf32>, %ak: tensor<1x3x196x14xf32>) -> tensor<1x3x196x64xf32> {
  %o_init = tensor.empty() : tensor<1x3x196x64xf32>
  %o = clus.cluster_attention %q, %k, %v members(%m) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>, tensor<1x14x28xi32>, tensor<1x3x196x14xf32>, tensor<1x3x196x14xf32>
      -> tensor<1x3x196x64xf32>
  return %o : tensor<1x3x196x64xf32>
}

// An explicit `summaries = true` is the default and is elided.
// CHECK-LABEL: func.func @cluster_attention_scale_dv
// CHECK:         %[[O:.+]] = clus.cluster_attention %{{.+}}, %{{.+}}, %{{.+}} members(%{{.+}}) affinities(%{{.+}}, %{{.+}}) scale = 5.000000e-01 outs({{.+}}) : tensor<2x4x49x32xf16>, tensor<2x4x49x32xf16>, tensor<2x4x49x16xf16>, tensor<2x7x7xi32>, tensor<2x4x49x7xf16>, tensor<2x4x49x7xf16>
// CHECK-NEXT:    return %[[O]] : tensor<2x4x49x16xf16>
func.func @cluster_attention_scale_dv(%q: tensor<2x4x49x32xf16>, %k: tensor<2x4x49x32xf16>, %v: tensor<2x4x49x16xf16>, %m: tensor<2x7x7xi32>, %aq: tensor<2x4x49x7xf16>, %ak: tensor<2x4x49x7xf16>) -> tensor<2x4x49x16xf16> {
  %o_init = tensor.empty() : tensor<2x4x49x16xf16>
  %o = clus.cluster_attention %q, %k, %v members(%m) affinities(%aq, %ak) scale = 0.5 summaries = true outs(%o_init)
      : tensor<2x4x49x32xf16>, tensor<2x4x49x32xf16>, tensor<2x4x49x16xf16>, tensor<2x7x7xi32>, tensor<2x4x49x7xf16>, tensor<2x4x49x7xf16>
      -> tensor<2x4x49x16xf16>
  return %o : tensor<2x4x49x16xf16>
}

// CHECK-LABEL: func.func @cluster_attention_no_summaries_dynamic
// CHECK:         %[[O:.+]] = clus.cluster_attention %{{.+}}, %{{.+}}, %{{.+}} members(%{{.+}}) affinities(%{{.+}}, %{{.+}}) summaries = false outs({{.+}}) : tensor<?x?x?x?xbf16>, tensor<?x2x?x?xbf16>, tensor<?x?x?x24xbf16>, tensor<1x?x?xi32>, tensor<?x?x?x?xbf16>, tensor<?x?x50x?xbf16>
// CHECK-NEXT:    return %[[O]] : tensor<1x2x50x24xbf16>
func.func @cluster_attention_no_summaries_dynamic(%q: tensor<?x?x?x?xbf16>, %k: tensor<?x2x?x?xbf16>, %v: tensor<?x?x?x24xbf16>, %m: tensor<1x?x?xi32>, %aq: tensor<?x?x?x?xbf16>, %ak: tensor<?x?x50x?xbf16>) -> tensor<1x2x50x24xbf16> {
  %o_init = tensor.empty() : tensor<1x2x50x24xbf16>
  %o = clus.cluster_attention %q, %k, %v members(%m) affinities(%aq, %ak) summaries = false outs(%o_init)
      : tensor<?x?x?x?xbf16>, tensor<?x2x?x?xbf16>, tensor<?x?x?x24xbf16>, tensor<1x?x?xi32>, tensor<?x?x?x?xbf16>, tensor<?x?x50x?xbf16>
      -> tensor<1x2x50x24xbf16>
  return %o : tensor<1x2x50x24xbf16>
}

//===----------------------------------------------------------------------===//
// Composition
//===----------------------------------------------------------------------===//

// A PaCa clustering step feeding attention, mixed with upstream ops; the
// inferred types chain through the function.
// CHECK-LABEL: func.func @paca_block
// CHECK:         %[[Z:.+]] = clus.soft_assign
// CHECK:         %[[C:.+]] = clus.pool %[[Z]]
// CHECK:         tensor.expand_shape %[[C]]
// CHECK:         clus.attention
// CHECK:         return %{{.+}} : tensor<1x1x196x32xf32>
func.func @paca_block(%logits: tensor<1x49x196xf32>, %x: tensor<1x196x32xf32>, %q: tensor<1x1x196x32xf32>) -> tensor<1x1x196x32xf32> {
  %z_init = tensor.empty() : tensor<1x49x196xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<1x49x196xf32>
  %c_init = tensor.empty() : tensor<1x49x32xf32>
  %c = clus.pool %z, %x outs(%c_init)
      : tensor<1x49x196xf32>, tensor<1x196x32xf32> -> tensor<1x49x32xf32>
  %kv = tensor.expand_shape %c [[0, 1], [2], [3]] output_shape [1, 1, 49, 32] : tensor<1x49x32xf32> into tensor<1x1x49x32xf32>
  %o_init = tensor.empty() : tensor<1x1x196x32xf32>
  %o = clus.attention %q, [%kv, %kv] outs(%o_init)
      : tensor<1x1x196x32xf32>, [tensor<1x1x49x32xf32>, tensor<1x1x49x32xf32>]
      -> tensor<1x1x196x32xf32>
  return %o : tensor<1x1x196x32xf32>
}

//===----------------------------------------------------------------------===//
// Destinations
//===----------------------------------------------------------------------===//

// A destination may know fewer static dims than the inputs give (and a
// result has its destination's type); it only has to agree where both are
// static.
// CHECK-LABEL: func.func @pool_dynamic_destination
// CHECK-SAME:    %[[INIT:[^:]+]]: tensor<?x4x?xf32>)
// CHECK:         %[[Y:.+]] = clus.pool %{{.+}}, %{{.+}} outs(%[[INIT]]) : tensor<2x4x8xf32>, tensor<2x8x16xf32> -> tensor<?x4x?xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<?x4x?xf32>
func.func @pool_dynamic_destination(%z: tensor<2x4x8xf32>, %x: tensor<2x8x16xf32>, %init: tensor<?x4x?xf32>) -> tensor<?x4x?xf32> {
  %y = clus.pool %z, %x outs(%init) : tensor<2x4x8xf32>, tensor<2x8x16xf32> -> tensor<?x4x?xf32>
  return %y : tensor<?x4x?xf32>
}

// Results of several ops may share one destination value: in tensor form
// each result is a new value.
// CHECK-LABEL: func.func @shared_destination
// CHECK:         %[[A:.+]] = clus.broadcast %{{.+}}, %{{.+}} outs(%[[INIT:[^)]+]])
// CHECK:         %[[B:.+]] = clus.broadcast %{{.+}}, %{{.+}} outs(%[[INIT]])
func.func @shared_destination(%y: tensor<1x3x4xf32>, %a: tensor<1x5xi32>) -> (tensor<1x5x4xf32>, tensor<1x5x4xf32>) {
  %init = tensor.empty() : tensor<1x5x4xf32>
  %x1 = clus.broadcast %y, %a outs(%init) : tensor<1x3x4xf32>, tensor<1x5xi32> -> tensor<1x5x4xf32>
  %x2 = clus.broadcast %y, %a outs(%init) : tensor<1x3x4xf32>, tensor<1x5xi32> -> tensor<1x5x4xf32>
  return %x1, %x2 : tensor<1x5x4xf32>, tensor<1x5x4xf32>
}

//===----------------------------------------------------------------------===//
// Buffer form
//===----------------------------------------------------------------------===//

// Every op on memrefs, as one-shot bufferization leaves it: no results, the
// destinations written in place, the types after `->` the destinations'.
// Memrefs of any layout are accepted, and soft_assign names a destination
// whose type differs from its logits'.
// CHECK-LABEL: func.func @buffer_form
// CHECK-SAME:    (%[[L:[^:]+]]: memref<2x4x8xf32, strided<[?, ?, ?], offset: ?>>, %[[X:[^:]+]]: memref<2x8x16xf32>, %[[Y:[^:]+]]: memref<2x4x16xf32>, %[[A:[^:]+]]: memref<2x8xi32>, %[[Q:[^:]+]]: memref<1x2x8x16xf32>, %[[O:[^:]+]]: memref<1x2x8x16xf32>, %[[M:[^:]+]]: memref<1x4x3xi32>, %[[AF:[^:]+]]: memref<1x2x8x4xf32>)
// CHECK:         %[[Z:.+]] = memref.alloc() : memref<2x4x8xf32>
// CHECK-NEXT:    clus.soft_assign %[[L]] outs(%[[Z]]) : memref<2x4x8xf32, strided<[?, ?, ?], offset: ?>> -> memref<2x4x8xf32>
// CHECK-NEXT:    clus.soft_assign %[[Z]] axis = clusters outs(%[[Z]]) : memref<2x4x8xf32>
// CHECK-NEXT:    clus.pool %[[Z]], %[[X]] outs(%[[Y]]) : memref<2x4x8xf32>, memref<2x8x16xf32> -> memref<2x4x16xf32>
// CHECK-NEXT:    clus.kmeans %[[X]] init(%[[Y]] : memref<2x4x16xf32>) clusters = 4 iterations = 2 metric = cosine outs(%[[A]], %[[Y]]) : memref<2x8x16xf32> -> memref<2x8xi32>, memref<2x4x16xf32>
// CHECK:         clus.dpc_knn %[[X]] clusters = [4] k = 3 outs(%{{.+}}, %{{.+}}) : memref<2x8x16xf32> -> memref<2x1x8xi32>, memref<2x1x4xi32>
// CHECK-NEXT:    clus.aggregate %[[X]], %[[A]] clusters = 4 reduction = mean outs(%[[Y]]) : memref<2x8x16xf32>, memref<2x8xi32> -> memref<2x4x16xf32>
// CHECK-NEXT:    clus.broadcast %[[Y]], %[[A]] outs(%[[X]]) : memref<2x4x16xf32>, memref<2x8xi32> -> memref<2x8x16xf32>
// CHECK-NEXT:    clus.attention %[[Q]], [%[[Q]], %[[Q]]] scale = 2.500000e-01 outs(%[[O]]) : memref<1x2x8x16xf32>, [memref<1x2x8x16xf32>, memref<1x2x8x16xf32>] -> memref<1x2x8x16xf32>
// CHECK:         clus.topk_members %[[X]] capacity = 3 exclusive outs(%{{.+}}) : memref<2x8x16xf32> -> memref<2x16x3xi32>
// CHECK-NEXT:    clus.cluster_attention %[[Q]], %[[Q]], %[[Q]] members(%[[M]]) affinities(%[[AF]], %[[AF]]) summaries = false outs(%[[O]]) : memref<1x2x8x16xf32>, memref<1x2x8x16xf32>, memref<1x2x8x16xf32>, memref<1x4x3xi32>, memref<1x2x8x4xf32>, memref<1x2x8x4xf32> -> memref<1x2x8x16xf32>
// CHECK-NEXT:    return
func.func @buffer_form(%l: memref<2x4x8xf32, strided<[?, ?, ?], offset: ?>>,
                       %x: memref<2x8x16xf32>, %y: memref<2x4x16xf32>,
                       %a: memref<2x8xi32>, %q: memref<1x2x8x16xf32>,
                       %o: memref<1x2x8x16xf32>, %m: memref<1x4x3xi32>,
                       %af: memref<1x2x8x4xf32>) {
  %z = memref.alloc() : memref<2x4x8xf32>
  clus.soft_assign %l outs(%z)
      : memref<2x4x8xf32, strided<[?, ?, ?], offset: ?>> -> memref<2x4x8xf32>
  clus.soft_assign %z axis = clusters outs(%z) : memref<2x4x8xf32>
  clus.pool %z, %x outs(%y)
      : memref<2x4x8xf32>, memref<2x8x16xf32> -> memref<2x4x16xf32>
  clus.kmeans %x init(%y : memref<2x4x16xf32>) clusters = 4 iterations = 2
      metric = cosine outs(%a, %y)
      : memref<2x8x16xf32> -> memref<2x8xi32>, memref<2x4x16xf32>
  %da = memref.alloc() : memref<2x1x8xi32>
  %dc = memref.alloc() : memref<2x1x4xi32>
  clus.dpc_knn %x clusters = [4] k = 3 outs(%da, %dc)
      : memref<2x8x16xf32> -> memref<2x1x8xi32>, memref<2x1x4xi32>
  clus.aggregate %x, %a clusters = 4 reduction = mean outs(%y)
      : memref<2x8x16xf32>, memref<2x8xi32> -> memref<2x4x16xf32>
  clus.broadcast %y, %a outs(%x)
      : memref<2x4x16xf32>, memref<2x8xi32> -> memref<2x8x16xf32>
  clus.attention %q, [%q, %q] scale = 0.25 outs(%o)
      : memref<1x2x8x16xf32>, [memref<1x2x8x16xf32>, memref<1x2x8x16xf32>]
      -> memref<1x2x8x16xf32>
  %members = memref.alloc() : memref<2x16x3xi32>
  clus.topk_members %x capacity = 3 exclusive outs(%members)
      : memref<2x8x16xf32> -> memref<2x16x3xi32>
  clus.cluster_attention %q, %q, %q members(%m) affinities(%af, %af)
      summaries = false outs(%o)
      : memref<1x2x8x16xf32>, memref<1x2x8x16xf32>, memref<1x2x8x16xf32>,
        memref<1x4x3xi32>, memref<1x2x8x4xf32>, memref<1x2x8x4xf32>
      -> memref<1x2x8x16xf32>
  return
}

// RUN: clusopt-opt %s -split-input-file -verify-diagnostics

// Every verifier rule of the clus dialect, one case per split. The custom
// and the generic form reach the same rules through the verifier, which
// derives the result types from the inputs (inferResultTypes) before it
// checks the destinations (`outs`) against them.

//===----------------------------------------------------------------------===//
// soft_assign
//===----------------------------------------------------------------------===//

func.func @soft_assign_rank(%l: tensor<4x8xf32>) {
  %z_init = tensor.empty() : tensor<4x8xf32>
  // expected-error @+1 {{operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<4x8xf32>'}}
  %z = clus.soft_assign %l outs(%z_init) : tensor<4x8xf32>
  return
}

// -----

func.func @soft_assign_element_type(%l: tensor<2x4x8xi32>) {
  %z_init = tensor.empty() : tensor<2x4x8xi32>
  // expected-error @+1 {{operand #0 must be 3D tensor or memref of f32, f16 or bf16 values}}
  %z = clus.soft_assign %l outs(%z_init) : tensor<2x4x8xi32>
  return
}

// -----

func.func @soft_assign_f64(%l: tensor<2x4x8xf64>) {
  %z_init = tensor.empty() : tensor<2x4x8xf64>
  // expected-error @+1 {{operand #0 must be 3D tensor or memref of f32, f16 or bf16 values}}
  %z = clus.soft_assign %l outs(%z_init) : tensor<2x4x8xf64>
  return
}

// -----

func.func @soft_assign_generic_result(%l: tensor<2x4x8xf32>) {
  %out0 = tensor.empty() : tensor<2x4x8xf16>
  // expected-error @+1 {{'clus.soft_assign' op outs #0 has type 'tensor<2x4x8xf16>', but the inputs give its result the type 'tensor<2x4x8xf32>'}}
  %z = "clus.soft_assign"(%l, %out0) : (tensor<2x4x8xf32>, tensor<2x4x8xf16>) -> tensor<2x4x8xf16>
  return
}

// -----

func.func @soft_assign_generic_axis_kind(%l: tensor<2x4x8xf32>) {
  %out0 = tensor.empty() : tensor<2x4x8xf32>
  // expected-error @+1 {{Invalid attribute `axis` in property conversion: #clus<metric l2>}}
  %z = "clus.soft_assign"(%l, %out0) <{axis = #clus<metric l2>}> : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

func.func @soft_assign_unknown_axis(%l: tensor<2x4x8xf32>) {
  %z_init = tensor.empty() : tensor<2x4x8xf32>
  // expected-error @+2 {{expected ::clusopt::clus::SoftAssignAxis to be one of: tokens, clusters}}
  // expected-error @+1 {{failed to parse Clus_SoftAssignAxisAttr parameter 'value'}}
  %z = clus.soft_assign %l axis = rows outs(%z_init) : tensor<2x4x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// pool
//===----------------------------------------------------------------------===//

func.func @pool_z_rank(%z: tensor<4x8xf32>, %x: tensor<2x8x16xf32>) {
  %y_init = tensor.empty() : tensor<4x8x16xf32>
  // expected-error @+1 {{'clus.pool' op operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<4x8xf32>'}}
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<4x8xf32>, tensor<2x8x16xf32> -> tensor<4x8x16xf32>
  return
}

// -----

func.func @pool_x_rank(%z: tensor<2x4x8xf32>, %x: tensor<1x2x8x16xf32>) {
  %y_init = tensor.empty() : tensor<2x4x8xf32>
  // expected-error @+1 {{'clus.pool' op operand #1 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<1x2x8x16xf32>'}}
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf32>, tensor<1x2x8x16xf32> -> tensor<2x4x8xf32>
  return
}

// -----

func.func @pool_batch(%z: tensor<2x4x8xf32>, %x: tensor<3x8x16xf32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.pool' op dimension 'B' mismatch: 'z' has 2 at axis 0 but 'x' has 3 at axis 0}}
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf32>, tensor<3x8x16xf32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @pool_tokens(%z: tensor<?x4x8xf32>, %x: tensor<2x9x16xf32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{dimension 'N' mismatch: 'z' has 8 at axis 2 but 'x' has 9 at axis 1}}
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x4x8xf32>, tensor<2x9x16xf32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @pool_element_type(%z: tensor<2x4x8xf32>, %x: tensor<2x8x16xf16>) {
  %y_init = tensor.empty() : tensor<2x4x16xf16>
  // expected-error @+1 {{element type mismatch: 'z' has 'f32' but 'x' has 'f16'}}
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf32>, tensor<2x8x16xf16> -> tensor<2x4x16xf16>
  return
}

// -----

func.func @pool_f64(%z: tensor<2x4x8xf64>, %x: tensor<2x8x16xf64>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{operand #0 must be 3D tensor or memref of f32, f16 or bf16 values}}
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf64>, tensor<2x8x16xf64> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @pool_unranked(%z: tensor<*xf32>, %x: tensor<2x8x16xf32>) {
  %y_init = tensor.empty() : tensor<2x1x16xf32>
  // expected-error @+1 {{'clus.pool' op operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<*xf32>'}}
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<*xf32>, tensor<2x8x16xf32> -> tensor<2x1x16xf32>
  return
}

// -----

func.func @pool_generic_result(%z: tensor<2x4x8xf32>, %x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x5x16xf32>
  // expected-error @+1 {{'clus.pool' op outs #0 has type 'tensor<2x5x16xf32>', but the inputs give its result the type 'tensor<2x4x16xf32>'}}
  %y = "clus.pool"(%z, %x, %out0) : (tensor<2x4x8xf32>, tensor<2x8x16xf32>, tensor<2x5x16xf32>) -> tensor<2x5x16xf32>
  return
}

// -----

func.func @pool_generic_operand_count(%z: tensor<2x4x8xf32>) {
  %out0 = tensor.empty() : tensor<2x4x8xf32>
  // expected-error @+1 {{'clus.pool' op expected 3 operands, but found 2}}
  %y = "clus.pool"(%z, %out0) : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// kmeans
//===----------------------------------------------------------------------===//

func.func @kmeans_zero_clusters(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x0x16xf32>
  // expected-error @+1 {{'clus.kmeans' op 'clusters' must be >= 1, got 0}}
  %a, %c = clus.kmeans %x clusters = 0 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x0x16xf32>
  return
}

// -----

func.func @kmeans_zero_iterations(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.kmeans' op 'iterations' must be >= 1, got 0}}
  %a, %c = clus.kmeans %x clusters = 4 iterations = 0 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_negative_clusters(%x: tensor<2x?x16xf32>) {
  %a_init_c1 = arith.constant 1 : index
  %a_init_d1 = tensor.dim %x, %a_init_c1 : tensor<2x?x16xf32>
  %a_init = tensor.empty(%a_init_d1) : tensor<2x?xi32>
  %c_init = tensor.empty() : tensor<2x1x16xf32>
  // expected-error @+1 {{'clusters' must be >= 1, got -3}}
  %a, %c = clus.kmeans %x clusters = -3 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x?x16xf32> -> tensor<2x?xi32>, tensor<2x1x16xf32>
  return
}

// -----

func.func @kmeans_x_rank(%x: tensor<8x16xf32>) {
  %a_init = tensor.empty() : tensor<8x16xi32>
  %c_init = tensor.empty() : tensor<8x4x1xf32>
  // expected-error @+1 {{'clus.kmeans' op operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<8x16xf32>'}}
  %a, %c = clus.kmeans %x clusters = 4 iterations = 2 outs(%a_init, %c_init)
      : tensor<8x16xf32> -> tensor<8x16xi32>, tensor<8x4x1xf32>
  return
}

// -----

func.func @kmeans_init_rank(%x: tensor<2x8x16xf32>, %mu: tensor<4x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.kmeans' op operand #1 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<4x16xf32>'}}
  %a, %c = clus.kmeans %x init(%mu : tensor<4x16xf32>) clusters = 4 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_init_batch(%x: tensor<2x8x16xf32>, %mu: tensor<3x4x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{dimension 'B' mismatch: 'x' has 2 at axis 0 but 'init' has 3 at axis 0}}
  %a, %c = clus.kmeans %x init(%mu : tensor<3x4x16xf32>) clusters = 4 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_init_clusters(%x: tensor<2x8x16xf32>, %mu: tensor<2x5x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{dimension 'M' mismatch: attribute 'clusters' is 4 but 'init' has 5 at axis 1}}
  %a, %c = clus.kmeans %x init(%mu : tensor<2x5x16xf32>) clusters = 4 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_init_channels(%x: tensor<2x8x16xf32>, %mu: tensor<?x?x15xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{dimension 'C' mismatch: 'x' has 16 at axis 2 but 'init' has 15 at axis 2}}
  %a, %c = clus.kmeans %x init(%mu : tensor<?x?x15xf32>) clusters = 4 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_init_element_type(%x: tensor<2x8x16xf32>, %mu: tensor<2x4x16xbf16>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{element type mismatch: 'init' has 'bf16' but 'x' has 'f32'}}
  %a, %c = clus.kmeans %x init(%mu : tensor<2x4x16xbf16>) clusters = 4 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_more_clusters_than_tokens(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x9x16xf32>
  // expected-error @+1 {{'clus.kmeans' op requires clusters <= tokens (M <= N), got M = 9 and N = 8}}
  %a, %c = clus.kmeans %x clusters = 9 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x9x16xf32>
  return
}

// -----

func.func @kmeans_generic_i64_assign(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x8xi64>
  %out1 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.kmeans' op operand #1 must be 2D tensor or memref of 32-bit signless integer values, but got 'tensor<2x8xi64>'}}
  %a, %c = "clus.kmeans"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = 4 : i64, iterations = 2 : i64}> : (tensor<2x8x16xf32>, tensor<2x8xi64>, tensor<2x4x16xf32>) -> (tensor<2x8xi64>, tensor<2x4x16xf32>)
  return
}

// -----

func.func @kmeans_generic_centroids(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x8xi32>
  %out1 = tensor.empty() : tensor<2x3x16xf32>
  // expected-error @+1 {{'clus.kmeans' op outs #1 has type 'tensor<2x3x16xf32>', but the inputs give its result the type 'tensor<2x4x16xf32>'}}
  %a, %c = "clus.kmeans"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = 4 : i64, iterations = 2 : i64}> : (tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x3x16xf32>) -> (tensor<2x8xi32>, tensor<2x3x16xf32>)
  return
}

// -----

func.func @kmeans_generic_missing_iterations(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x8xi32>
  %out1 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.kmeans' op requires attribute 'iterations'}}
  %a, %c = "clus.kmeans"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = 4 : i64}> : (tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x4x16xf32>) -> (tensor<2x8xi32>, tensor<2x4x16xf32>)
  return
}

// -----

func.func @kmeans_generic_zero_iterations(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x8xi32>
  %out1 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.kmeans' op 'iterations' must be >= 1, got 0}}
  %a, %c = "clus.kmeans"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = 4 : i64, iterations = 0 : i64}> : (tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x4x16xf32>) -> (tensor<2x8xi32>, tensor<2x4x16xf32>)
  return
}

// -----

func.func @kmeans_missing_iterations(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{custom op 'clus.kmeans' expected 'iterations'}}
  %a, %c = clus.kmeans %x clusters = 4 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_unknown_metric(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+2 {{expected ::clusopt::clus::KMeansMetric to be one of: l2, cosine}}
  // expected-error @+1 {{failed to parse Clus_KMeansMetricAttr parameter 'value'}}
  %a, %c = clus.kmeans %x clusters = 4 iterations = 2 metric = manhattan outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_one_result(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{operation defines 2 results but was provided 1 to bind}}
  %a = clus.kmeans %x clusters = 4 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_float_clusters(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x2x16xf32>
  // expected-error @+1 {{floating point value not valid for specified type}}
  %a, %c = clus.kmeans %x clusters = 2.5 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x2x16xf32>
  return
}

// -----

func.func @kmeans_huge_clusters(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{integer constant out of range for attribute}}
  %a, %c = clus.kmeans %x clusters = 99999999999999999999999 iterations = 2 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// dpc_knn
//===----------------------------------------------------------------------===//

func.func @dpc_knn_x_rank(%x: tensor<1x2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<1x1x2xi32>
  %c_init = tensor.empty() : tensor<1x1x4xi32>
  // expected-error @+1 {{'clus.dpc_knn' op operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<1x2x8x16xf32>'}}
  %a, %c = clus.dpc_knn %x clusters = [4] outs(%a_init, %c_init)
      : tensor<1x2x8x16xf32> -> tensor<1x1x2xi32>, tensor<1x1x4xi32>
  return
}

// -----

func.func @dpc_knn_no_scales(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x1x8xi32>
  %c_init = tensor.empty() : tensor<2x1x1xi32>
  // expected-error @+1 {{'clus.dpc_knn' op 'clusters' must list at least one scale}}
  %a, %c = clus.dpc_knn %x clusters = [] outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x1x8xi32>, tensor<2x1x1xi32>
  return
}

// -----

func.func @dpc_knn_zero_clusters(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x2x8xi32>
  %c_init = tensor.empty() : tensor<2x2x4xi32>
  // expected-error @+1 {{'clus.dpc_knn' op every entry of 'clusters' must be >= 1, got 0}}
  %a, %c = clus.dpc_knn %x clusters = [4, 0] outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x2x8xi32>, tensor<2x2x4xi32>
  return
}

// -----

func.func @dpc_knn_negative_clusters(%x: tensor<2x?x16xf32>) {
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<2x?x16xf32>
  %a_init = tensor.empty(%a_init_d2) : tensor<2x1x?xi32>
  %c_init = tensor.empty() : tensor<2x1x1xi32>
  // expected-error @+1 {{every entry of 'clusters' must be >= 1, got -1}}
  %a, %c = clus.dpc_knn %x clusters = [-1] outs(%a_init, %c_init)
      : tensor<2x?x16xf32> -> tensor<2x1x?xi32>, tensor<2x1x1xi32>
  return
}

// -----

func.func @dpc_knn_more_clusters_than_tokens(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x2x8xi32>
  %c_init = tensor.empty() : tensor<2x2x9xi32>
  // expected-error @+1 {{'clus.dpc_knn' op requires clusters <= tokens (M <= N), got M = 9 and N = 8}}
  %a, %c = clus.dpc_knn %x clusters = [4, 9] outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x2x8xi32>, tensor<2x2x9xi32>
  return
}

// -----

func.func @dpc_knn_zero_k(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x1x8xi32>
  %c_init = tensor.empty() : tensor<2x1x4xi32>
  // expected-error @+1 {{'clus.dpc_knn' op 'k' must be >= 1, got 0}}
  %a, %c = clus.dpc_knn %x clusters = [4] k = 0 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x1x8xi32>, tensor<2x1x4xi32>
  return
}

// -----

func.func @dpc_knn_huge_k(%x: tensor<2x?x16xf32>) {
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<2x?x16xf32>
  %a_init = tensor.empty(%a_init_d2) : tensor<2x1x?xi32>
  %c_init = tensor.empty() : tensor<2x1x4xi32>
  // expected-error @+1 {{'clus.dpc_knn' op 'k' must be at most 2147483647, got 2147483648}}
  %a, %c = clus.dpc_knn %x clusters = [4] k = 2147483648 outs(%a_init, %c_init)
      : tensor<2x?x16xf32> -> tensor<2x1x?xi32>, tensor<2x1x4xi32>
  return
}

// -----

func.func @dpc_knn_huge_clusters(%x: tensor<2x?x16xf32>) {
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<2x?x16xf32>
  %a_init = tensor.empty(%a_init_d2) : tensor<2x2x?xi32>
  %c_init = tensor.empty() : tensor<2x2x4294967296xi32>
  // expected-error @+1 {{'clus.dpc_knn' op every entry of 'clusters' must be at most 2147483647, got 4294967296}}
  %a, %c = clus.dpc_knn %x clusters = [4, 4294967296] outs(%a_init, %c_init)
      : tensor<2x?x16xf32> -> tensor<2x2x?xi32>, tensor<2x2x4294967296xi32>
  return
}

// -----

func.func @kmeans_huge_clusters(%x: tensor<2x?x16xf32>) {
  %a_init_c1 = arith.constant 1 : index
  %a_init_d1 = tensor.dim %x, %a_init_c1 : tensor<2x?x16xf32>
  %a_init = tensor.empty(%a_init_d1) : tensor<2x?xi32>
  %c_init = tensor.empty() : tensor<2x2147483648x16xf32>
  // expected-error @+1 {{'clus.kmeans' op 'clusters' must be at most 2147483647, got 2147483648}}
  %a, %c = clus.kmeans %x clusters = 2147483648 iterations = 1 outs(%a_init, %c_init)
      : tensor<2x?x16xf32> -> tensor<2x?xi32>, tensor<2x2147483648x16xf32>
  return
}

// -----

func.func @dpc_knn_scalar_clusters(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x1x8xi32>
  %c_init = tensor.empty() : tensor<2x1x1xi32>
  // expected-error @+1 {{expected '['}}
  %a, %c = clus.dpc_knn %x clusters = 4 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x1x8xi32>, tensor<2x1x1xi32>
  return
}

// -----

func.func @dpc_knn_missing_clusters(%x: tensor<2x8x16xf32>) {
  %a_init = tensor.empty() : tensor<2x1x8xi32>
  %c_init = tensor.empty() : tensor<2x1x1xi32>
  // expected-error @+1 {{custom op 'clus.dpc_knn' expected 'clusters'}}
  %a, %c = clus.dpc_knn %x k = 3 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x1x8xi32>, tensor<2x1x1xi32>
  return
}

// -----

func.func @dpc_knn_generic_missing_clusters(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x1x8xi32>
  %out1 = tensor.empty() : tensor<2x1x4xi32>
  // expected-error @+1 {{'clus.dpc_knn' op requires attribute 'clusters'}}
  %a, %c = "clus.dpc_knn"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, k = 3 : i64}> : (tensor<2x8x16xf32>, tensor<2x1x8xi32>, tensor<2x1x4xi32>) -> (tensor<2x1x8xi32>, tensor<2x1x4xi32>)
  return
}

// -----

func.func @dpc_knn_generic_f32_centers(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x1x8xi32>
  %out1 = tensor.empty() : tensor<2x1x4xf32>
  // expected-error @+1 {{'clus.dpc_knn' op operand #2 must be 3D tensor or memref of 32-bit signless integer values, but got 'tensor<2x1x4xf32>'}}
  %a, %c = "clus.dpc_knn"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = array<i64: 4>}> : (tensor<2x8x16xf32>, tensor<2x1x8xi32>, tensor<2x1x4xf32>) -> (tensor<2x1x8xi32>, tensor<2x1x4xf32>)
  return
}

// -----

func.func @dpc_knn_generic_centers_width(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x2x8xi32>
  %out1 = tensor.empty() : tensor<2x2x4xi32>
  // expected-error @+1 {{'clus.dpc_knn' op outs #1 has type 'tensor<2x2x4xi32>', but the inputs give its result the type 'tensor<2x2x6xi32>'}}
  %a, %c = "clus.dpc_knn"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = array<i64: 4, 6>}> : (tensor<2x8x16xf32>, tensor<2x2x8xi32>, tensor<2x2x4xi32>) -> (tensor<2x2x8xi32>, tensor<2x2x4xi32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// aggregate
//===----------------------------------------------------------------------===//

func.func @aggregate_zero_clusters(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %y_init = tensor.empty() : tensor<2x0x16xf32>
  // expected-error @+1 {{'clus.aggregate' op 'clusters' must be >= 1, got 0}}
  %y = clus.aggregate %x, %a clusters = 0 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x0x16xf32>
  return
}

// -----

func.func @aggregate_x_rank(%x: tensor<8x16xf32>, %a: tensor<2x8xi32>) {
  %y_init = tensor.empty() : tensor<8x4x1xf32>
  // expected-error @+1 {{'clus.aggregate' op operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<8x16xf32>'}}
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<8x16xf32>, tensor<2x8xi32> -> tensor<8x4x1xf32>
  return
}

// -----

func.func @aggregate_assign_rank(%x: tensor<2x8x16xf32>, %a: tensor<2x8x1xi32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.aggregate' op operand #1 must be 2D tensor or memref of 32-bit signless integer values, but got 'tensor<2x8x1xi32>'}}
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8x1xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_batch(%x: tensor<2x8x16xf32>, %a: tensor<3x8xi32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{dimension 'B' mismatch: 'x' has 2 at axis 0 but 'assign' has 3 at axis 0}}
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<3x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_tokens(%x: tensor<2x8x16xf32>, %a: tensor<2x7xi32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{dimension 'N' mismatch: 'x' has 8 at axis 1 but 'assign' has 7 at axis 1}}
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x7xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_i64_assign(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi64>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{operand #1 must be 2D tensor or memref of 32-bit signless integer values, but got 'tensor<2x8xi64>'}}
  %y = clus.aggregate %x, %a clusters = 4 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi64> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_weighted_mean_without_weights(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.aggregate' op reduction 'weighted_mean' requires 'weights'}}
  %y = clus.aggregate %x, %a clusters = 4 reduction = weighted_mean outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_sum_with_weights(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>, %w: tensor<2x8xf32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'weights' are only allowed with reduction 'weighted_mean', got 'sum'}}
  %y = clus.aggregate %x, %a weights(%w : tensor<2x8xf32>) clusters = 4 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_mean_with_weights(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>, %w: tensor<2x8xf32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'weights' are only allowed with reduction 'weighted_mean', got 'mean'}}
  %y = clus.aggregate %x, %a weights(%w : tensor<2x8xf32>) clusters = 4 reduction = mean outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_weights_rank(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>, %w: tensor<2x8x1xf32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.aggregate' op operand #2 must be 2D tensor or memref of f32, f16 or bf16 values, but got 'tensor<2x8x1xf32>'}}
  %y = clus.aggregate %x, %a weights(%w : tensor<2x8x1xf32>) clusters = 4 reduction = weighted_mean outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_weights_tokens(%x: tensor<2x?x16xf32>, %a: tensor<2x8xi32>, %w: tensor<2x9xf32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{dimension 'N' mismatch: 'assign' has 8 at axis 1 but 'weights' has 9 at axis 1}}
  %y = clus.aggregate %x, %a weights(%w : tensor<2x9xf32>) clusters = 4 reduction = weighted_mean outs(%y_init)
      : tensor<2x?x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_weights_element_type(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>, %w: tensor<2x8xf16>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{element type mismatch: 'weights' has 'f16' but 'x' has 'f32'}}
  %y = clus.aggregate %x, %a weights(%w : tensor<2x8xf16>) clusters = 4 reduction = weighted_mean outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_negative_eps(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>, %w: tensor<2x8xf32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.aggregate' op 'eps' must be finite and >= 0, got -1.000000e-06}}
  %y = clus.aggregate %x, %a weights(%w : tensor<2x8xf32>) clusters = 4 reduction = weighted_mean eps = -1.0e-6 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_nan_eps(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'eps' must be finite and >= 0, got nan}}
  %y = clus.aggregate %x, %a clusters = 4 reduction = mean eps = 0x7FC00000 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_generic_inf_eps(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>, %w: tensor<2x8xf32>) {
  %out0 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'eps' must be finite and >= 0, got INF}}
  %y = "clus.aggregate"(%x, %a, %w, %out0) <{clusters = 4 : i64, reduction = #clus<reduction weighted_mean>, eps = 0x7F800000 : f32}> : (tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x8xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_generic_f64_eps(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %out0 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{attribute 'eps' failed to satisfy constraint: 32-bit float attribute}}
  %y = "clus.aggregate"(%x, %a, %out0) <{clusters = 4 : i64, eps = 1.0e-6 : f64}> : (tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_generic_clusters(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %out0 = tensor.empty() : tensor<2x5x16xf32>
  // expected-error @+1 {{'clus.aggregate' op outs #0 has type 'tensor<2x5x16xf32>', but the inputs give its result the type 'tensor<2x4x16xf32>'}}
  %y = "clus.aggregate"(%x, %a, %out0) <{clusters = 4 : i64}> : (tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x5x16xf32>) -> tensor<2x5x16xf32>
  return
}

// -----

func.func @aggregate_unknown_reduction(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+2 {{expected ::clusopt::clus::Reduction to be one of: sum, mean, weighted_mean}}
  // expected-error @+1 {{failed to parse Clus_ReductionAttr parameter 'value'}}
  %y = clus.aggregate %x, %a clusters = 4 reduction = max outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_integer_eps(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+2 {{unexpected decimal integer literal for a floating point value}}
  // expected-note @+1 {{add a trailing dot to make the literal a float}}
  %y = clus.aggregate %x, %a clusters = 4 eps = 1 outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_missing_clusters(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %y_init = tensor.empty() : tensor<2x1x16xf32>
  // expected-error @+1 {{custom op 'clus.aggregate' expected 'clusters'}}
  %y = clus.aggregate %x, %a reduction = mean outs(%y_init)
      : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<2x1x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// broadcast
//===----------------------------------------------------------------------===//

func.func @broadcast_y_rank(%y: tensor<49x64xf32>, %a: tensor<2x8xi32>) {
  %x_init = tensor.empty() : tensor<49x8x1xf32>
  // expected-error @+1 {{'clus.broadcast' op operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<49x64xf32>'}}
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<49x64xf32>, tensor<2x8xi32> -> tensor<49x8x1xf32>
  return
}

// -----

func.func @broadcast_assign_rank(%y: tensor<2x4x64xf32>, %a: tensor<8xi32>) {
  %x_init = tensor.empty() : tensor<2x1x64xf32>
  // expected-error @+1 {{'clus.broadcast' op operand #1 must be 2D tensor or memref of 32-bit signless integer values, but got 'tensor<8xi32>'}}
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x4x64xf32>, tensor<8xi32> -> tensor<2x1x64xf32>
  return
}

// -----

func.func @broadcast_batch(%y: tensor<2x4x64xf32>, %a: tensor<1x8xi32>) {
  %x_init = tensor.empty() : tensor<2x8x64xf32>
  // expected-error @+1 {{dimension 'B' mismatch: 'y' has 2 at axis 0 but 'assign' has 1 at axis 0}}
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x4x64xf32>, tensor<1x8xi32> -> tensor<2x8x64xf32>
  return
}

// -----

func.func @broadcast_f32_assign(%y: tensor<2x4x64xf32>, %a: tensor<2x8xf32>) {
  %x_init = tensor.empty() : tensor<2x8x64xf32>
  // expected-error @+1 {{operand #1 must be 2D tensor or memref of 32-bit signless integer values, but got 'tensor<2x8xf32>'}}
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x4x64xf32>, tensor<2x8xf32> -> tensor<2x8x64xf32>
  return
}

// -----

func.func @broadcast_generic_result(%y: tensor<2x4x64xf32>, %a: tensor<2x8xi32>) {
  %out0 = tensor.empty() : tensor<2x8x32xf32>
  // expected-error @+1 {{'clus.broadcast' op outs #0 has type 'tensor<2x8x32xf32>', but the inputs give its result the type 'tensor<2x8x64xf32>'}}
  %x = "clus.broadcast"(%y, %a, %out0) : (tensor<2x4x64xf32>, tensor<2x8xi32>, tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

func.func @attention_generic_unpaired(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.attention' op expects the query followed by one or more [key, value] pairs, got 4 operands}}
  %o = "clus.attention"(%q, %k, %k, %k, %out0) : (tensor<1x2x8x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_generic_key_only(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.attention' op expects the query followed by one or more [key, value] pairs, got 2 operands}}
  %o = "clus.attention"(%q, %k, %out0) : (tensor<1x2x8x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_generic_query_only(%q: tensor<1x2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{expects the query followed by one or more [key, value] pairs, got 1 operands}}
  %o = "clus.attention"(%q, %out0) : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_unpaired(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x1xf32>
  // expected-error @+1 {{expected ','}}
  %o = clus.attention %q, [%k] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>] -> tensor<1x2x8x1xf32>
  return
}

// -----

func.func @attention_no_pairs(%q: tensor<1x2x8x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x1xf32>
  // expected-error @+1 {{expected ','}}
  %o = clus.attention %q outs(%o_init) : tensor<1x2x8x16xf32> -> tensor<1x2x8x1xf32>
  return
}

// -----

func.func @attention_pair_type_count(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{number of operands and types do not match: got 2 operands and 1 types}}
  %o = clus.attention %q, [%k, %k], [%k, %k] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_q_rank(%q: tensor<2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<2x8x16x16xf32>
  // expected-error @+1 {{'clus.attention' op operand #0 must be 4D tensor or memref of f32, f16 or bf16 values, but got 'tensor<2x8x16xf32>'}}
  %o = clus.attention %q, [%k, %k] outs(%o_init)
      : tensor<2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>]
      -> tensor<2x8x16x16xf32>
  return
}

// -----

func.func @attention_key_rank(%q: tensor<1x2x8x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.attention' op operand #1 must be variadic of 4D tensor or memref of f32, f16 or bf16 values, but got 'tensor<2x4x16xf32>'}}
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<2x4x16xf32>, tensor<1x2x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_value_rank(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.attention' op operand #4 must be variadic of 4D tensor or memref of f32, f16 or bf16 values, but got 'tensor<1x1x2x4x16xf32>'}}
  %o = clus.attention %q, [%k, %k], [%k, %v] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>], [tensor<1x2x4x16xf32>, tensor<1x1x2x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<1x2x8x16xf32>, %k: tensor<2x2x4x16xf32>, %v: tensor<?x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'B' mismatch: 'q' has 1 at axis 0 but 'keys[0]' has 2 at axis 0}}
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<2x2x4x16xf32>, tensor<?x2x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_heads(%q: tensor<1x?x8x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x3x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'H' mismatch: 'keys[0]' has 2 at axis 1 but 'values[0]' has 3 at axis 1}}
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x?x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x3x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_head_dim(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>, %k2: tensor<1x2x4x32xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'D' mismatch: 'q' has 16 at axis 3 but 'keys[1]' has 32 at axis 3}}
  %o = clus.attention %q, [%k, %k], [%k2, %k] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>], [tensor<1x2x4x32xf32>, tensor<1x2x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_clusters_in_pair(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x5x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'M0' mismatch: 'keys[0]' has 4 at axis 2 but 'values[0]' has 5 at axis 2}}
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x5x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_clusters_second_pair(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>, %k2: tensor<1x2x6x16xf32>, %v2: tensor<1x2x7x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'M1' mismatch: 'keys[1]' has 6 at axis 2 but 'values[1]' has 7 at axis 2}}
  %o = clus.attention %q, [%k, %k], [%k2, %v2] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>], [tensor<1x2x6x16xf32>, tensor<1x2x7x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_value_dim_across_scales(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>, %v1: tensor<1x2x4x32xf32>, %v2: tensor<1x2x4x48xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x32xf32>
  // expected-error @+1 {{dimension 'Dv' mismatch: 'values[0]' has 32 at axis 3 but 'values[1]' has 48 at axis 3}}
  %o = clus.attention %q, [%k, %v1], [%k, %v2] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x32xf32>], [tensor<1x2x4x16xf32>, tensor<1x2x4x48xf32>]
      -> tensor<1x2x8x32xf32>
  return
}

// -----

func.func @attention_key_element_type(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf16>, %v: tensor<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{element type mismatch: 'keys[0]' has 'f16' but 'q' has 'f32'}}
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf16>, tensor<1x2x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_value_element_type(%q: tensor<1x2x8x16xbf16>, %k: tensor<1x2x4x16xbf16>, %v: tensor<1x2x4x16xf16>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xbf16>
  // expected-error @+1 {{element type mismatch: 'values[0]' has 'f16' but 'q' has 'bf16'}}
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x8x16xbf16>, [tensor<1x2x4x16xbf16>, tensor<1x2x4x16xf16>]
      -> tensor<1x2x8x16xbf16>
  return
}

// -----

func.func @attention_inf_scale(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.attention' op 'scale' must be finite}}
  %o = clus.attention %q, [%k, %k] scale = 0x7F800000 outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_generic_inf_scale(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.attention' op 'scale' must be finite}}
  %o = "clus.attention"(%q, %k, %k, %out0) <{scale = 0xFF800000 : f32}> : (tensor<1x2x8x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_generic_f64_scale(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{attribute 'scale' failed to satisfy constraint: 32-bit float attribute}}
  %o = "clus.attention"(%q, %k, %k, %out0) <{scale = 1.0 : f64}> : (tensor<1x2x8x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_generic_i32_key(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xi32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{operand #1 must be variadic of 4D tensor or memref of f32, f16 or bf16 values, but got 'tensor<1x2x4x16xi32>'}}
  %o = "clus.attention"(%q, %k, %k, %out0) : (tensor<1x2x8x16xf32>, tensor<1x2x4x16xi32>, tensor<1x2x4x16xi32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_generic_value_dim(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x8xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.attention' op outs #0 has type 'tensor<1x2x8x16xf32>', but the inputs give its result the type 'tensor<1x2x8x8xf32>'}}
  %o = "clus.attention"(%q, %k, %v, %out0) : (tensor<1x2x8x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// topk_members
//===----------------------------------------------------------------------===//

func.func @topk_members_zero_capacity(%g: tensor<2x8x4xf32>) {
  %m_init = tensor.empty() : tensor<2x4x0xi32>
  // expected-error @+1 {{'clus.topk_members' op 'capacity' must be >= 1, got 0}}
  %m = clus.topk_members %g capacity = 0 outs(%m_init)
      : tensor<2x8x4xf32> -> tensor<2x4x0xi32>
  return
}

// -----

func.func @topk_members_negative_capacity(%g: tensor<2x8x4xf32>) {
  %m_init = tensor.empty() : tensor<2x4x1xi32>
  // expected-error @+1 {{'capacity' must be >= 1, got -2}}
  %m = clus.topk_members %g capacity = -2 exclusive outs(%m_init)
      : tensor<2x8x4xf32> -> tensor<2x4x1xi32>
  return
}

// -----

func.func @topk_members_g_rank(%g: tensor<1x2x8x4xf32>) {
  %m_init = tensor.empty() : tensor<1x8x2xi32>
  // expected-error @+1 {{'clus.topk_members' op operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<1x2x8x4xf32>'}}
  %m = clus.topk_members %g capacity = 2 outs(%m_init)
      : tensor<1x2x8x4xf32> -> tensor<1x8x2xi32>
  return
}

// -----

func.func @topk_members_generic_capacity(%g: tensor<2x8x4xf32>) {
  %out0 = tensor.empty() : tensor<2x4x2xi32>
  // expected-error @+1 {{'clus.topk_members' op outs #0 has type 'tensor<2x4x2xi32>', but the inputs give its result the type 'tensor<2x4x3xi32>'}}
  %m = "clus.topk_members"(%g, %out0) <{capacity = 3 : i64}> : (tensor<2x8x4xf32>, tensor<2x4x2xi32>) -> tensor<2x4x2xi32>
  return
}

// -----

func.func @topk_members_generic_f32_members(%g: tensor<2x8x4xf32>) {
  %out0 = tensor.empty() : tensor<2x4x3xf32>
  // expected-error @+1 {{'clus.topk_members' op operand #1 must be 3D tensor or memref of 32-bit signless integer values, but got 'tensor<2x4x3xf32>'}}
  %m = "clus.topk_members"(%g, %out0) <{capacity = 3 : i64}> : (tensor<2x8x4xf32>, tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  return
}

// -----

func.func @topk_members_generic_missing_capacity(%g: tensor<2x8x4xf32>) {
  %out0 = tensor.empty() : tensor<2x4x3xi32>
  // expected-error @+1 {{'clus.topk_members' op requires attribute 'capacity'}}
  %m = "clus.topk_members"(%g, %out0) : (tensor<2x8x4xf32>, tensor<2x4x3xi32>) -> tensor<2x4x3xi32>
  return
}

// -----

func.func @topk_members_generic_capacity_kind(%g: tensor<2x8x4xf32>) {
  %out0 = tensor.empty() : tensor<2x4x3xi32>
  // expected-error @+1 {{Invalid attribute `capacity` in property conversion: "two"}}
  %m = "clus.topk_members"(%g, %out0) <{capacity = "two"}> : (tensor<2x8x4xf32>, tensor<2x4x3xi32>) -> tensor<2x4x3xi32>
  return
}

// -----

func.func @topk_members_exclusive_value(%g: tensor<2x8x4xf32>) {
  %m_init = tensor.empty() : tensor<2x4x2xi32>
  // expected-error @+1 {{custom op 'clus.topk_members' expected 'outs'}}
  %m = clus.topk_members %g capacity = 2 exclusive = true outs(%m_init)
      : tensor<2x8x4xf32> -> tensor<2x4x2xi32>
  return
}

// -----

func.func @topk_members_memref(%g: memref<2x8x4xf32>) {
  %m_init = tensor.empty() : tensor<1x1x2xi32>
  // A memref input is the buffer form, whose destination is a memref too.
  // expected-error @+1 {{'clus.topk_members' op operands must be all tensors (value semantics) or all memrefs (buffer semantics), not a mix}}
  %m = clus.topk_members %g capacity = 2 outs(%m_init)
      : memref<2x8x4xf32> -> tensor<1x1x2xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// cluster_attention
//===----------------------------------------------------------------------===//

func.func @cluster_attention_q_rank(%q: tensor<2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<2x8x16x16xf32>
  // expected-error @+1 {{'clus.cluster_attention' op operand #0 must be 4D tensor or memref of f32, f16 or bf16 values, but got 'tensor<2x8x16xf32>'}}
  %o = clus.cluster_attention %q, %k, %k members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<2x8x16x16xf32>
  return
}

// -----

func.func @cluster_attention_k_rank(%q: tensor<1x2x8x16xf32>, %k: tensor<2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.cluster_attention' op operand #1 must be 4D tensor or memref of f32, f16 or bf16 values, but got 'tensor<2x8x16xf32>'}}
  %o = clus.cluster_attention %q, %k, %q members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_v_rank(%q: tensor<1x2x8x16xf32>, %v: tensor<1x1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x8xf32>
  // expected-error @+1 {{'clus.cluster_attention' op operand #2 must be 4D tensor or memref of f32, f16 or bf16 values, but got 'tensor<1x1x2x8x16xf32>'}}
  %o = clus.cluster_attention %q, %q, %v members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x8xf32>
  return
}

// -----

func.func @cluster_attention_members_rank(%q: tensor<1x2x8x16xf32>, %m: tensor<4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.cluster_attention' op operand #3 must be 3D tensor or memref of 32-bit signless integer values, but got 'tensor<4x3xi32>'}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_aq_rank(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %aq: tensor<2x8x4xf32>, %ak: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.cluster_attention' op operand #4 must be 4D tensor or memref of f32, f16 or bf16 values, but got 'tensor<2x8x4xf32>'}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_ak_rank(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %aq: tensor<1x2x8x4xf32>, %ak: tensor<1x2x8x4x1xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.cluster_attention' op operand #5 must be 4D tensor or memref of f32, f16 or bf16 values, but got 'tensor<1x2x8x4x1xf32>'}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4x1xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_batch(%q: tensor<1x2x8x16xf32>, %m: tensor<2x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'B' mismatch: 'q' has 1 at axis 0 but 'members' has 2 at axis 0}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<2x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_heads(%q: tensor<1x2x8x16xf32>, %k: tensor<1x3x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'H' mismatch: 'q' has 2 at axis 1 but 'k' has 3 at axis 1}}
  %o = clus.cluster_attention %q, %k, %q members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x3x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_tokens(%q: tensor<1x2x8x16xf32>, %v: tensor<1x2x9x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'N' mismatch: 'q' has 8 at axis 2 but 'v' has 9 at axis 2}}
  %o = clus.cluster_attention %q, %q, %v members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x9x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_head_dim(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x32xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'D' mismatch: 'q' has 16 at axis 3 but 'k' has 32 at axis 3}}
  %o = clus.cluster_attention %q, %k, %q members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x32xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_generic_value_dim(%q: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x24xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.cluster_attention' op outs #0 has type 'tensor<1x2x8x16xf32>', but the inputs give its result the type 'tensor<1x2x8x24xf32>'}}
  %o = "clus.cluster_attention"(%q, %q, %v, %m, %a, %a, %out0) : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x24xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_clusters_members(%q: tensor<1x2x8x16xf32>, %m: tensor<1x5x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'M' mismatch: 'aq' has 4 at axis 3 but 'members' has 5 at axis 1}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x5x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_clusters_affinities(%q: tensor<1x2x8x16xf32>, %m: tensor<1x?x3xi32>, %aq: tensor<1x2x8x4xf32>, %ak: tensor<1x2x8x6xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{dimension 'M' mismatch: 'aq' has 4 at axis 3 but 'ak' has 6 at axis 3}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x?x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x6xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_f32_members(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xf32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{operand #3 must be 3D tensor or memref of 32-bit signless integer values, but got 'tensor<1x4x3xf32>'}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_v_element_type(%q: tensor<1x2x8x16xf16>, %v: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf16>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf16>
  // expected-error @+1 {{element type mismatch: 'v' has 'f32' but 'q' has 'f16'}}
  %o = clus.cluster_attention %q, %q, %v members(%m) affinities(%a, %a) outs(%o_init)
      : tensor<1x2x8x16xf16>, tensor<1x2x8x16xf16>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf16>, tensor<1x2x8x4xf16>
      -> tensor<1x2x8x16xf16>
  return
}

// -----

func.func @cluster_attention_ak_element_type(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %aq: tensor<1x2x8x4xf32>, %ak: tensor<1x2x8x4xbf16>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{element type mismatch: 'ak' has 'bf16' but 'q' has 'f32'}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xbf16>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_nan_scale(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.cluster_attention' op 'scale' must be finite}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%a, %a) scale = 0x7FC00000 outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_generic_inf_scale(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'scale' must be finite}}
  %o = "clus.cluster_attention"(%q, %q, %q, %m, %a, %a, %out0) <{scale = 0x7F800000 : f32}> : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_generic_operand_count(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{'clus.cluster_attention' op expected 7 operands, but found 6}}
  %o = "clus.cluster_attention"(%q, %q, %q, %m, %a, %out0) : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_generic_summaries_kind(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{Invalid attribute `summaries` in property conversion: 1 : i64}}
  %o = "clus.cluster_attention"(%q, %q, %q, %m, %a, %a, %out0) <{summaries = 1 : i64}> : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_missing_affinities(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{custom op 'clus.cluster_attention' expected 'affinities'}}
  %o = clus.cluster_attention %q, %q, %q members(%m) outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @cluster_attention_summaries_keyword(%q: tensor<1x2x8x16xf32>, %m: tensor<1x4x3xi32>, %a: tensor<1x2x8x4xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{expected attribute value}}
  %o = clus.cluster_attention %q, %q, %q members(%m) affinities(%a, %a) summaries = maybe outs(%o_init)
      : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x3xi32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
      -> tensor<1x2x8x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Dialect-level garbage
//===----------------------------------------------------------------------===//

// expected-error @+1 {{unregistered operation 'clus.bogus' found in dialect ('clus') that does not allow unknown operations}}
"clus.bogus"() : () -> ()

// -----

// expected-error @+1 {{unknown attribute `foo` in dialect `clus`}}
func.func @unknown_attribute() attributes {a = #clus<foo bar>} {
  return
}

// -----

// expected-error @+1 {{dialect 'clus' provides no type parsing hook}}
func.func @unknown_type(%x: !clus.tokens) {
  return
}

// -----

//===----------------------------------------------------------------------===//
// Malformed input found by hand-fuzzing; each must be a diagnostic, never a
// crash.
//===----------------------------------------------------------------------===//

func.func @pool_encoding(%z: tensor<2x4x8xf32, "enc">, %x: tensor<2x8x16xf32>) {
  %y_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.pool' op 'z' must not have a tensor encoding, got 'tensor<2x4x8xf32, "enc">'}}
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xf32, "enc">, tensor<2x8x16xf32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @soft_assign_encoding(%l: tensor<2x4x8xf32, "enc">) {
  // expected-error @+1 {{'clus.soft_assign' op 'logits' must not have a tensor encoding}}
  %z = clus.soft_assign %l outs(%l) : tensor<2x4x8xf32, "enc">
  return
}

// -----

func.func @attention_scalar_pair(%q: tensor<1x2x8x16xf32>, %s: f32) {
  %o_init = tensor.empty() : tensor<1x2x8x1xf32>
  // expected-error @+1 {{'clus.attention' op operand #1 must be variadic of 4D tensor or memref of f32, f16 or bf16 values, but got 'f32'}}
  %o = clus.attention %q, [%s, %s] outs(%o_init)
      : tensor<1x2x8x16xf32>, [f32, f32] -> tensor<1x2x8x1xf32>
  return
}

// -----

func.func @attention_vector_pair(%q: tensor<1x2x8x16xf32>, %s: vector<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x1xf32>
  // expected-error @+1 {{'clus.attention' op operand #1 must be variadic of 4D tensor or memref of f32, f16 or bf16 values, but got 'vector<1x2x4x16xf32>'}}
  %o = clus.attention %q, [%s, %s] outs(%o_init)
      : tensor<1x2x8x16xf32>, [vector<1x2x4x16xf32>, vector<1x2x4x16xf32>]
      -> tensor<1x2x8x1xf32>
  return
}

// -----

func.func @attention_generic_scalar_key(%q: tensor<1x2x8x16xf32>, %s: f32) {
  %out0 = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{operand #1 must be variadic of 4D tensor or memref of f32, f16 or bf16 values, but got 'f32'}}
  %o = "clus.attention"(%q, %s, %s, %out0) : (tensor<1x2x8x16xf32>, f32, f32, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @attention_empty_pairs(%q: tensor<1x2x8x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x1xf32>
  // expected-error @+1 {{expected SSA operand}}
  %o = clus.attention %q, [] outs(%o_init)
      : tensor<1x2x8x16xf32>, [] -> tensor<1x2x8x1xf32>
  return
}

// -----

func.func @attention_parenthesised_pair(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  %o_init = tensor.empty() : tensor<1x2x8x16xf32>
  // expected-error @+1 {{expected '['}}
  %o = clus.attention %q, (%k, %k) outs(%o_init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @kmeans_scalar_init(%x: tensor<2x8x16xf32>, %i: f32) {
  %a_init = tensor.empty() : tensor<2x8xi32>
  %c_init = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.kmeans' op operand #1 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'f32'}}
  %a, %c = clus.kmeans %x init(%i : f32) clusters = 4 iterations = 1 outs(%a_init, %c_init)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @kmeans_generic_two_inits(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x8xi32>
  %out1 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{operand group starting at #1 requires 0 or 1 element, but found 2}}
  %a, %c = "clus.kmeans"(%x, %x, %x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = 4 : i64, iterations = 1 : i64}> : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x4x16xf32>) -> (tensor<2x8xi32>, tensor<2x4x16xf32>)
  return
}

// -----

func.func @kmeans_generic_i32_clusters(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x8xi32>
  %out1 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{attribute 'clusters' failed to satisfy constraint: 64-bit signless integer attribute}}
  %a, %c = "clus.kmeans"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = 4 : i32, iterations = 1 : i64}> : (tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x4x16xf32>) -> (tensor<2x8xi32>, tensor<2x4x16xf32>)
  return
}

// -----

func.func @kmeans_empty_tokens(%x: tensor<0x0x0xf32>) {
  %a_init = tensor.empty() : tensor<0x0xi32>
  %c_init = tensor.empty() : tensor<0x1x0xf32>
  // expected-error @+1 {{requires clusters <= tokens (M <= N), got M = 1 and N = 0}}
  %a, %c = clus.kmeans %x clusters = 1 iterations = 1 outs(%a_init, %c_init)
      : tensor<0x0x0xf32> -> tensor<0x0xi32>, tensor<0x1x0xf32>
  return
}

// -----

func.func @dpc_knn_generic_array_attr(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x1x8xi32>
  %out1 = tensor.empty() : tensor<2x1x4xi32>
  // expected-error @+1 {{Invalid attribute `clusters` in property conversion: [4]}}
  %a, %c = "clus.dpc_knn"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = [4]}> : (tensor<2x8x16xf32>, tensor<2x1x8xi32>, tensor<2x1x4xi32>) -> (tensor<2x1x8xi32>, tensor<2x1x4xi32>)
  return
}

// -----

func.func @dpc_knn_generic_no_scales(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x0x8xi32>
  %out1 = tensor.empty() : tensor<2x0x0xi32>
  // expected-error @+1 {{'clus.dpc_knn' op 'clusters' must list at least one scale}}
  %a, %c = "clus.dpc_knn"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = array<i64>}> : (tensor<2x8x16xf32>, tensor<2x0x8xi32>, tensor<2x0x0xi32>) -> (tensor<2x0x8xi32>, tensor<2x0x0xi32>)
  return
}

// -----

func.func @dpc_knn_generic_negative_k(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x1x8xi32>
  %out1 = tensor.empty() : tensor<2x1x2xi32>
  // expected-error @+1 {{'clus.dpc_knn' op 'k' must be >= 1, got -1}}
  %a, %c = "clus.dpc_knn"(%x, %out0, %out1) <{resultSegmentSizes = array<i32: 1, 1>, clusters = array<i64: 2>, k = -1 : i64}> : (tensor<2x8x16xf32>, tensor<2x1x8xi32>, tensor<2x1x2xi32>) -> (tensor<2x1x8xi32>, tensor<2x1x2xi32>)
  return
}

// -----

func.func @dpc_knn_empty_tokens(%x: tensor<1x0x4xf32>) {
  %a_init = tensor.empty() : tensor<1x1x0xi32>
  %c_init = tensor.empty() : tensor<1x1x1xi32>
  // expected-error @+1 {{requires clusters <= tokens (M <= N), got M = 1 and N = 0}}
  %a, %c = clus.dpc_knn %x clusters = [1] outs(%a_init, %c_init)
      : tensor<1x0x4xf32> -> tensor<1x1x0xi32>, tensor<1x1x1xi32>
  return
}

// -----

func.func @aggregate_generic_one_operand(%x: tensor<2x8x16xf32>) {
  %out0 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{'clus.aggregate' op expected 3 or more operands, but found 2}}
  %y = "clus.aggregate"(%x, %out0) <{clusters = 4 : i64}> : (tensor<2x8x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_generic_two_weights(%x: tensor<2x8x16xf32>, %w: tensor<2x8xf32>, %a: tensor<2x8xi32>) {
  %out0 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{operand group starting at #2 requires 0 or 1 element, but found 2}}
  %y = "clus.aggregate"(%x, %a, %w, %w, %out0) <{clusters = 4 : i64, reduction = #clus<reduction weighted_mean>}> : (tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_generic_weighted_mean_without_weights(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>) {
  %out0 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{reduction 'weighted_mean' requires 'weights'}}
  %y = "clus.aggregate"(%x, %a, %out0) <{clusters = 4 : i64, reduction = #clus<reduction weighted_mean>}> : (tensor<2x8x16xf32>, tensor<2x8xi32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return
}

// -----

func.func @aggregate_index_tensors(%x: tensor<2x8x16xindex>, %a: tensor<2x8xindex>) {
  %y_init = tensor.empty() : tensor<2x2x16xf32>
  // expected-error @+1 {{operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<2x8x16xindex>'}}
  %y = clus.aggregate %x, %a clusters = 2 outs(%y_init)
      : tensor<2x8x16xindex>, tensor<2x8xindex> -> tensor<2x2x16xf32>
  return
}

// -----

func.func @broadcast_signed_assign(%y: tensor<2x4x16xf32>, %a: tensor<2x8xsi32>) {
  %x_init = tensor.empty() : tensor<2x8x16xf32>
  // expected-error @+1 {{operand #1 must be 2D tensor or memref of 32-bit signless integer values, but got 'tensor<2x8xsi32>'}}
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x4x16xf32>, tensor<2x8xsi32> -> tensor<2x8x16xf32>
  return
}

// -----

func.func @pool_complex(%z: tensor<2x4x8xcomplex<f32>>, %x: tensor<2x8x16xcomplex<f32>>) {
  %y_init = tensor.empty() : tensor<1x1x1xf32>
  // expected-error @+1 {{operand #0 must be 3D tensor or memref of f32, f16 or bf16 values, but got 'tensor<2x4x8xcomplex<f32>>'}}
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<2x4x8xcomplex<f32>>, tensor<2x8x16xcomplex<f32>> -> tensor<1x1x1xf32>
  return
}

// -----

func.func @pool_missing_operand(%z: tensor<2x4x8xf32>) {
  %y_init = tensor.empty() : tensor<2x4x1xf32>
  // expected-error @+1 {{expected ','}}
  %y = clus.pool %z outs(%y_init)
      : tensor<2x4x8xf32>, tensor<2x8x16xf32> -> tensor<2x4x1xf32>
  return
}

// -----

func.func @topk_members_no_results(%g: tensor<2x8x4xf32>) {
  // expected-error @+1 {{'clus.topk_members' op expected 2 operands, but found 1}}
  "clus.topk_members"(%g) <{capacity = 2 : i64}> : (tensor<2x8x4xf32>) -> ()
  return
}

// -----

func.func @topk_members_missing_capacity(%g: tensor<2x8x4xf32>) {
  %m_init = tensor.empty() : tensor<2x4x1xi32>
  // expected-error @+1 {{custom op 'clus.topk_members' expected 'capacity'}}
  %m = clus.topk_members %g exclusive outs(%m_init)
      : tensor<2x8x4xf32> -> tensor<2x4x1xi32>
  return
}

// -----

func.func @kmeans_three_results(%x: tensor<2x8x16xf32>) {
  %r_init0 = tensor.empty() : tensor<2x8xi32>
  %r_init1 = tensor.empty() : tensor<2x4x16xf32>
  // expected-error @+1 {{operation defines 2 results but was provided 3 to bind}}
  %r:3 = clus.kmeans %x clusters = 4 iterations = 2 outs(%r_init0, %r_init1)
      : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @soft_assign_duplicate_axis(%l: tensor<2x4x8xf32>) {
  %z_init = tensor.empty() : tensor<2x4x8xf32>
  // expected-error @+1 {{custom op 'clus.soft_assign' expected 'outs'}}
  %z = clus.soft_assign %l axis = tokens axis = tokens outs(%z_init) : tensor<2x4x8xf32>
  return
}

// -----

func.func @soft_assign_integer_axis_in_dict(%l: tensor<2x4x8xf32>) {
  %z_init = tensor.empty() : tensor<2x4x8xf32>
  // expected-error @+1 {{attribute 'axis' failed to satisfy constraint: axis over which soft_assign normalises}}
  %z = clus.soft_assign %l outs(%z_init) {axis = 3} : tensor<2x4x8xf32>
  return
}

// -----

// expected-error @+1 {{expected SSA operand}}
%0 = clus.pool

// -----

// expected-error @+1 {{'clus.kmeans' op expected 3 or more operands, but found 0}}
"clus.kmeans"() : () -> ()

// -----

// expected-error @+2 {{expected valid keyword or string}}
// expected-error @+1 {{failed to parse Clus_KMeansMetricAttr parameter 'value'}}
func.func @bare_enum_attribute() attributes {a = #clus<metric>} {
  return
}

// -----

//===----------------------------------------------------------------------===//
// Destinations (outs)
//===----------------------------------------------------------------------===//

func.func @outs_static_size(%z: tensor<2x4x8xf32>, %x: tensor<2x8x16xf32>, %init: tensor<2x5x16xf32>) {
  // expected-error @+1 {{'clus.pool' op outs #0 has type 'tensor<2x5x16xf32>', but the inputs give its result the type 'tensor<2x4x16xf32>'}}
  %y = clus.pool %z, %x outs(%init) : tensor<2x4x8xf32>, tensor<2x8x16xf32> -> tensor<2x5x16xf32>
  return
}

// -----

func.func @outs_element_type(%z: tensor<2x4x8xf32>, %x: tensor<2x8x16xf32>, %init: tensor<2x4x16xf16>) {
  // expected-error @+1 {{'clus.pool' op outs #0 has type 'tensor<2x4x16xf16>', but the inputs give its result the type 'tensor<2x4x16xf32>'}}
  %y = clus.pool %z, %x outs(%init) : tensor<2x4x8xf32>, tensor<2x8x16xf32> -> tensor<2x4x16xf16>
  return
}

// -----

func.func @outs_rank(%g: tensor<2x8x4xf32>, %init: tensor<2x4xi32>) {
  // expected-error @+1 {{'clus.topk_members' op operand #1 must be 3D tensor or memref of 32-bit signless integer values, but got 'tensor<2x4xi32>'}}
  %m = clus.topk_members %g capacity = 3 outs(%init) : tensor<2x8x4xf32> -> tensor<2x4xi32>
  return
}

// -----

// The second destination of kmeans must have `clusters` rows.
func.func @outs_kmeans_centroids(%x: tensor<2x8x16xf32>, %a: tensor<2x8xi32>, %c: tensor<2x3x16xf32>) {
  // expected-error @+1 {{'clus.kmeans' op outs #1 has type 'tensor<2x3x16xf32>', but the inputs give its result the type 'tensor<2x4x16xf32>'}}
  %r:2 = clus.kmeans %x clusters = 4 iterations = 2 outs(%a, %c) : tensor<2x8x16xf32> -> tensor<2x8xi32>, tensor<2x3x16xf32>
  return
}

// -----

// A dynamic destination is checked where the inputs are static too.
func.func @outs_attention_value_dim(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x8xf32>, %init: tensor<?x2x?x16xf32>) {
  // expected-error @+1 {{'clus.attention' op outs #0 has type 'tensor<?x2x?x16xf32>', but the inputs give its result the type 'tensor<1x2x8x8xf32>'}}
  %o = clus.attention %q, [%k, %v] outs(%init) : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x8xf32>] -> tensor<?x2x?x16xf32>
  return
}

// -----

// Each result has its destination's type.
func.func @outs_generic_result_type(%x: tensor<2x3x4xf32>, %a: tensor<2x5xi32>, %init: tensor<2x5x4xf32>) {
  // expected-error @+1 {{'clus.broadcast' op expected type of operand #2 ('tensor<2x5x4xf32>') to match type of corresponding result ('tensor<?x5x4xf32>')}}
  %r = "clus.broadcast"(%x, %a, %init) : (tensor<2x3x4xf32>, tensor<2x5xi32>, tensor<2x5x4xf32>) -> tensor<?x5x4xf32>
  return
}

// -----

func.func @outs_missing(%z: tensor<2x4x8xf32>, %x: tensor<2x8x16xf32>) {
  // expected-error @+1 {{expected 'outs'}}
  %y = clus.pool %z, %x : tensor<2x4x8xf32>, tensor<2x8x16xf32>
  return
}

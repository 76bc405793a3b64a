// RUN: clusopt-opt %s --convert-clus-to-vector="vector-width=16" --split-input-file --verify-diagnostics
// RUN: not clusopt-opt %s --convert-clus-to-vector="vector-width=5" 2>&1 | FileCheck %s --check-prefix=WIDTH
// RUN: not clusopt-opt %s --convert-clus-to-vector="vector-width=8 rows=0" 2>&1 | FileCheck %s --check-prefix=ROWS

// WIDTH: vector-width must be 4, 8 or 16 f32 lanes, got 5
// ROWS: error: invalid default tile: rows must be in [1, 8], got 0

func.func @rows_too_large(%q: tensor<1x1x9x16xf32>, %k: tensor<1x1x5x16xf32>) -> tensor<1x1x9x16xf32> {
  %o_init = tensor.empty() : tensor<1x1x9x16xf32>
  // expected-error @+1 {{tile rows must be in [1, 8], got 9}}
  %o = clus.attention %q, [%k, %k] outs(%o_init) {clus.tile = {rows = 9 : i64, cols = 32 : i64}}
      : tensor<1x1x9x16xf32>, [tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>]
      -> tensor<1x1x9x16xf32>
  return %o : tensor<1x1x9x16xf32>
}

// -----

func.func @cols_not_multiple(%l: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %z_init = tensor.empty() : tensor<1x3x9xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x3x9xf32>
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  // expected-error @+1 {{tile cols must be a multiple of the vector width 16 in [16, 4096], got 40}}
  %y = clus.pool %z, %x outs(%y_init) {clus.tile = {cols = 40 : i64}}
      : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

// -----

func.func @unknown_key(%x: tensor<2x50x8xf32>) -> tensor<2x1x50xi32> {
  %a_init = tensor.empty() : tensor<2x1x50xi32>
  %c_init = tensor.empty() : tensor<2x1x3xi32>
  // expected-error @+1 {{'clus.tile' takes integer 'rows' and 'cols' entries, got 'depth'}}
  %a, %c = clus.dpc_knn %x clusters = [3] outs(%a_init, %c_init) {clus.tile = {depth = 2 : i64}}
      : tensor<2x50x8xf32> -> tensor<2x1x50xi32>, tensor<2x1x3xi32>
  return %a : tensor<2x1x50xi32>
}

// -----

func.func @not_an_integer(%x: tensor<2x50x8xf32>) -> tensor<2x1x50xi32> {
  %a_init = tensor.empty() : tensor<2x1x50xi32>
  %c_init = tensor.empty() : tensor<2x1x3xi32>
  // expected-error @+1 {{'clus.tile' takes integer 'rows' and 'cols' entries, got 'rows'}}
  %a, %c = clus.dpc_knn %x clusters = [3] outs(%a_init, %c_init) {clus.tile = {rows = "four"}}
      : tensor<2x50x8xf32> -> tensor<2x1x50xi32>, tensor<2x1x3xi32>
  return %a : tensor<2x1x50xi32>
}

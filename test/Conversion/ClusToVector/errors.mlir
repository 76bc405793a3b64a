// RUN: clusopt-opt %s --convert-clus-to-vector="vector-width=16" --split-input-file --verify-diagnostics
// RUN: not clusopt-opt %s --convert-clus-to-vector="vector-width=5" 2>&1 | FileCheck %s --check-prefix=WIDTH
// RUN: not clusopt-opt %s --convert-clus-to-vector="vector-width=8 rows=9" 2>&1 | FileCheck %s --check-prefix=ROWS

// WIDTH: vector-width must be 4, 8 or 16 f32 lanes, got 5
// ROWS: error: invalid default tile: rows must be in [1, 8], got 9

// Sizes out of range never reach the lowering: the dialect verifies
// #clus.lowering_config (test/Dialect/Clus/lowering-config.mlir). What only
// the lowering knows is its vector width.

func.func @cols_not_multiple(%l: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %z_init = tensor.empty() : tensor<1x3x9xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x3x9xf32>
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  // expected-error @+1 {{tile cols must be a multiple of the vector width 16 in [16, 4096], got 40}}
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<cols = 40>}
      : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

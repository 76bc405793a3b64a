// RUN: clusopt-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// #clus.lowering_config: round trips, and every rule the dialect checks on
// its own (sizes' ranges) and on an op (only the sizes its kernel reads).
// A malformed config is a diagnostic, never a crash.

// CHECK-LABEL: func.func @both
// CHECK:         clus.attention {{.*}}{clus.lowering_config = #clus.lowering_config<rows = 6, cols = 112>}
func.func @both(%q: tensor<1x2x9x16xf32>, %k: tensor<1x2x5x16xf32>) -> tensor<1x2x9x16xf32> {
  %o_init = tensor.empty() : tensor<1x2x9x16xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 6, cols = 112>} : tensor<1x2x9x16xf32>, [tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>] -> tensor<1x2x9x16xf32>
  return %o : tensor<1x2x9x16xf32>
}

// -----

// Either size may be left out; kmeans and dpc_knn read only rows.
// CHECK-LABEL: func.func @one_size
// CHECK:         clus.pool {{.*}}{clus.lowering_config = #clus.lowering_config<cols = 8>}
// CHECK:         clus.dpc_knn {{.*}}{clus.lowering_config = #clus.lowering_config<rows = 1>}
func.func @one_size(%z: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>, %t: tensor<2x50x8xf32>) -> (tensor<1x3x5xf32>, tensor<2x1x50xi32>) {
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<cols = 8>} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  %a_init = tensor.empty() : tensor<2x1x50xi32>
  %c_init = tensor.empty() : tensor<2x1x3xi32>
  %a, %c = clus.dpc_knn %t clusters = [3] outs(%a_init, %c_init) {clus.lowering_config = #clus.lowering_config<rows = 1>} : tensor<2x50x8xf32> -> tensor<2x1x50xi32>, tensor<2x1x3xi32>
  return %y, %a : tensor<1x3x5xf32>, tensor<2x1x50xi32>
}

// -----

func.func @rows_too_large(%q: tensor<1x1x9x16xf32>, %k: tensor<1x1x5x16xf32>) -> tensor<1x1x9x16xf32> {
  %o_init = tensor.empty() : tensor<1x1x9x16xf32>
  // expected-error @+1 {{lowering config rows must be in [1, 8], got 9}}
  %o = clus.attention %q, [%k, %k] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 9, cols = 32>} : tensor<1x1x9x16xf32>, [tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>] -> tensor<1x1x9x16xf32>
  return %o : tensor<1x1x9x16xf32>
}

// -----

func.func @rows_zero(%q: tensor<1x1x9x16xf32>, %k: tensor<1x1x5x16xf32>) -> tensor<1x1x9x16xf32> {
  %o_init = tensor.empty() : tensor<1x1x9x16xf32>
  // expected-error @+1 {{lowering config rows must be in [1, 8], got 0}}
  %o = clus.attention %q, [%k, %k] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 0>} : tensor<1x1x9x16xf32>, [tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>] -> tensor<1x1x9x16xf32>
  return %o : tensor<1x1x9x16xf32>
}

// -----

func.func @cols_not_multiple_of_4(%z: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  // expected-error @+1 {{lowering config cols must be a multiple of 4 in [4, 4096], got 6}}
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<cols = 6>} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

// -----

func.func @cols_negative(%z: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  // expected-error @+1 {{lowering config cols must be a multiple of 4 in [4, 4096], got -8}}
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<cols = -8>} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

// -----

func.func @cols_too_large(%z: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  // expected-error @+1 {{lowering config cols must be a multiple of 4 in [4, 4096], got 8192}}
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<cols = 8192>} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

// -----

func.func @empty(%z: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  // expected-error @+1 {{a lowering config sets rows, cols or both}}
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<>} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

// -----

func.func @unknown_size(%z: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  // expected-error @+1 {{duplicate or unknown struct parameter name: depth}}
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<depth = 2>} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

// -----

func.func @not_an_integer(%z: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  // expected-error @+2 {{expected integer value}}
  // expected-error @+1 {{failed to parse Clus_LoweringConfigAttr parameter 'rows'}}
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<rows = "four">} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

// -----

func.func @not_a_config(%z: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> tensor<1x3x5xf32> {
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  // expected-error @+1 {{'clus.lowering_config' must be a #clus.lowering_config<rows = R, cols = C>, got {cols = 8 : i64, rows = 2 : i64}}}
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = {rows = 2, cols = 8}} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %y : tensor<1x3x5xf32>
}

// -----

func.func @kmeans_reads_only_rows(%x: tensor<1x196x64xf32>) -> tensor<1x196xi32> {
  %a_init = tensor.empty() : tensor<1x196xi32>
  %c_init = tensor.empty() : tensor<1x8x64xf32>
  // expected-error @+1 {{'clus.kmeans' reads only 'rows'; its lowering config sets 'cols'}}
  %a, %c = clus.kmeans %x clusters = 8 iterations = 5 outs(%a_init, %c_init) {clus.lowering_config = #clus.lowering_config<rows = 2, cols = 64>} : tensor<1x196x64xf32> -> tensor<1x196xi32>, tensor<1x8x64xf32>
  return %a : tensor<1x196xi32>
}

// -----

func.func @soft_assign_reads_none(%l: tensor<1x3x9xf32>) -> tensor<1x3x9xf32> {
  %z_init = tensor.empty() : tensor<1x3x9xf32>
  // expected-error @+1 {{'clus.soft_assign' reads no tile sizes, so it takes no lowering config}}
  %z = clus.soft_assign %l outs(%z_init) {clus.lowering_config = #clus.lowering_config<rows = 2>} : tensor<1x3x9xf32>
  return %z : tensor<1x3x9xf32>
}

// -----

func.func @not_a_clus_op(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'clus.lowering_config' applies to clus ops only}}
  %b = arith.addf %a, %a {clus.lowering_config = #clus.lowering_config<rows = 2>} : tensor<4x4xf32>
  return %b : tensor<4x4xf32>
}

// -----

// The dictionary it replaces is refused with the new spelling.
func.func @old_tile_dictionary(%q: tensor<1x1x9x16xf32>, %k: tensor<1x1x5x16xf32>) -> tensor<1x1x9x16xf32> {
  // expected-error @+1 {{'clus.tile' is no longer read; write 'clus.lowering_config = #clus.lowering_config<rows = R, cols = C>'}}
  %o = clus.attention %q, [%k, %k] outs(%q) {clus.tile = {rows = 2 : i64, cols = 32 : i64}} : tensor<1x1x9x16xf32>, [tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>] -> tensor<1x1x9x16xf32>
  return %o : tensor<1x1x9x16xf32>
}

// -----

func.func @unknown_clus_attribute(%l: tensor<1x3x9xf32>) -> tensor<1x3x9xf32> {
  %z_init = tensor.empty() : tensor<1x3x9xf32>
  // expected-error @+1 {{unknown clus attribute 'clus.tiles' (the dialect defines 'clus.lowering_config' and 'clus.tuning_record')}}
  %z = clus.soft_assign %l outs(%z_init) {clus.tiles = 1} : tensor<1x3x9xf32>
  return %z : tensor<1x3x9xf32>
}

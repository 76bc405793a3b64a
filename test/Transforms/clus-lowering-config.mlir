// RUN: clusopt-opt %s --clus-lowering-config | FileCheck %s
// RUN: clusopt-opt %s --clus-lowering-config="target=x86-64-v4 rows=2 cols=64" | FileCheck %s --check-prefix=V4
// RUN: not clusopt-opt %s --clus-lowering-config="tuning-db=%t.none" 2>&1 | FileCheck %s --check-prefix=NOTARGET
// RUN: not clusopt-opt %s --clus-lowering-config="target=x86-64-v3 tuning-db=%t.missing" 2>&1 | FileCheck %s --check-prefix=MISSING -DPATH=%t.missing
// RUN: not clusopt-opt %s --clus-lowering-config="target=sm_90" 2>&1 | FileCheck %s --check-prefix=GPU
// RUN: not clusopt-opt %s --clus-lowering-config="vector-width=16 cols=40" 2>&1 | FileCheck %s --check-prefix=DEFAULT
// RUN: clusopt-opt %S/Inputs/cols-40.mlir --clus-lowering-config | FileCheck %s --check-prefix=CLAMP
// RUN: not clusopt-opt %S/Inputs/cols-40.mlir --clus-lowering-config="target=x86-64-v4" 2>&1 | FileCheck %s --check-prefix=WIDTH

// Every op whose kernel reads tile sizes gets a complete config with just
// those sizes; its own config wins for the sizes it sets. cols is clamped
// to the streamed extent padded to the vector width when that is static.

// CHECK-LABEL: func.func @ops
// 5 clusters, 8 lanes: cols = 8.
// CHECK:         clus.attention {{.*}}{clus.lowering_config = #clus.lowering_config<rows = 4, cols = 8>}
// Dynamic clusters: the default cols.
// CHECK:         clus.attention {{.*}}{clus.lowering_config = #clus.lowering_config<rows = 4, cols = 128>}
// Its own rows = 2 stays, cols comes from the options (clamped to 9 tokens).
// CHECK:         clus.soft_assign
// CHECK-NOT:     lowering_config
// CHECK:         clus.pool {{.*}}{clus.lowering_config = #clus.lowering_config<rows = 2, cols = 16>}
// kmeans reads rows only.
// CHECK:         clus.kmeans {{.*}}{clus.lowering_config = #clus.lowering_config<rows = 4>}

// V4-LABEL: func.func @ops
// V4:         clus.attention {{.*}}#clus.lowering_config<rows = 2, cols = 16>
// V4:         clus.attention {{.*}}#clus.lowering_config<rows = 2, cols = 64>
// V4:         clus.pool {{.*}}#clus.lowering_config<rows = 2, cols = 16>
// V4:         clus.kmeans {{.*}}#clus.lowering_config<rows = 2>

// NOTARGET: error: tuning-db needs a target: the records' keys name one
// MISSING: error: tuning database [[PATH]] does not exist
// GPU: error: --target=sm_90 is a GPU: its kernels have fixed tiles
// With 8 lanes, cols = 40 is legal (and clamped to 9 tokens); with
// x86-64-v4's 16 it is an error naming the op.
// CLAMP: #clus.lowering_config<rows = 4, cols = 16>
// WIDTH: cols-40.mlir:{{[0-9]+}}:{{[0-9]+}}: error: tile cols must be a multiple of the vector width 16 in [16, 4096], got 40
// DEFAULT: error: invalid default tile: cols must be a multiple of the vector width 16 in [16, 4096], got 40
func.func @ops(%q: tensor<1x2x9x16xf32>, %k: tensor<1x2x5x16xf32>, %kd: tensor<1x2x?x16xf32>, %l: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>, %t: tensor<1x196x64xf32>) -> (tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x3x5xf32>, tensor<1x196xi32>) {
  %o_init = tensor.empty() : tensor<1x2x9x16xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init) : tensor<1x2x9x16xf32>, [tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>] -> tensor<1x2x9x16xf32>
  %od_init = tensor.empty() : tensor<1x2x9x16xf32>
  %od = clus.attention %q, [%kd, %kd] outs(%od_init) : tensor<1x2x9x16xf32>, [tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>] -> tensor<1x2x9x16xf32>
  %z_init = tensor.empty() : tensor<1x3x9xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x3x9xf32>
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  %y = clus.pool %z, %x outs(%y_init) {clus.lowering_config = #clus.lowering_config<rows = 2>} : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  %a_init = tensor.empty() : tensor<1x196xi32>
  %c_init = tensor.empty() : tensor<1x8x64xf32>
  %a, %c = clus.kmeans %t clusters = 8 iterations = 5 outs(%a_init, %c_init) : tensor<1x196x64xf32> -> tensor<1x196xi32>, tensor<1x8x64xf32>
  return %o, %od, %y, %a : tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x3x5xf32>, tensor<1x196xi32>
}

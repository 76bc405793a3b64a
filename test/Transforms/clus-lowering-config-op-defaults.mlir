// RUN: clusopt-opt %s --clus-lowering-config="target=x86-64-v4" | FileCheck %s
// RUN: clusopt-opt %s --clus-lowering-config="target=x86-64-v3" | FileCheck %s --check-prefix=V3
// RUN: clusopt-opt %s --clus-lowering-config="target=x86-64-v4 rows=3" | FileCheck %s --check-prefix=ROWS
// RUN: clusopt-opt %s --clus-cpu-to-llvm="vector-width=16" --mlir-print-ir-after=clus-lowering-config -o /dev/null 2>&1 | FileCheck %s

// Without a rows option each op takes its own rows: pool 8 with 16 lanes
// (8 clusters of 3 vectors fill AVX-512's 32 registers), 4 with 8 lanes and
// for every other op. A rows option applies to every op.

// CHECK-LABEL: func.func @ops
// CHECK:         clus.attention {{.*}}#clus.lowering_config<rows = 4, cols = 16>
// CHECK:         clus.pool {{.*}}#clus.lowering_config<rows = 8, cols = 16>

// V3-LABEL: func.func @ops
// V3:         clus.attention {{.*}}#clus.lowering_config<rows = 4, cols = 8>
// V3:         clus.pool {{.*}}#clus.lowering_config<rows = 4, cols = 16>

// ROWS-LABEL: func.func @ops
// ROWS:         clus.attention {{.*}}#clus.lowering_config<rows = 3, cols = 16>
// ROWS:         clus.pool {{.*}}#clus.lowering_config<rows = 3, cols = 16>
func.func @ops(%q: tensor<1x2x9x16xf32>, %k: tensor<1x2x5x16xf32>, %l: tensor<1x3x9xf32>, %x: tensor<1x9x5xf32>) -> (tensor<1x2x9x16xf32>, tensor<1x3x5xf32>) {
  %o_init = tensor.empty() : tensor<1x2x9x16xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init) : tensor<1x2x9x16xf32>, [tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>] -> tensor<1x2x9x16xf32>
  %z_init = tensor.empty() : tensor<1x3x9xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x3x9xf32>
  %y_init = tensor.empty() : tensor<1x3x5xf32>
  %y = clus.pool %z, %x outs(%y_init) : tensor<1x3x9xf32>, tensor<1x9x5xf32> -> tensor<1x3x5xf32>
  return %o, %y : tensor<1x2x9x16xf32>, tensor<1x3x5xf32>
}

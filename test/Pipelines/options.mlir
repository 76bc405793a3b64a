// Invalid pipeline and pass options fail the run (non-zero exit, nothing
// printed) with a message that names the option, even for a module that
// has no clus op for the option to matter to.
//
// Valid options still lower the module.
// RUN: clusopt-opt %s --clus-cpu-to-llvm='vector-width=8 rows=8 cols=8' | FileCheck %s
// RUN: not clusopt-opt %s --clus-gpu-to-nvvm='chip=sm_1' 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not clusopt-opt %s -pass-pipeline='builtin.module(clus-gpu-to-nvvm{format=elf})' 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not clusopt-opt %s --clus-cpu-to-llvm='vector-width=5' 2>&1 | FileCheck %s --check-prefix=WIDTH
// RUN: not clusopt-opt %s --clus-cpu-to-llvm='rows=9' 2>&1 | FileCheck %s --check-prefix=ROWS
// RUN: not clusopt-opt %s --clus-cpu-to-llvm='cols=12' 2>&1 | FileCheck %s --check-prefix=COLS
// RUN: not clusopt-opt %s --convert-clus-to-vector='rows=-1' 2>&1 | FileCheck %s --check-prefix=PASS-ROWS
// RUN: not clusopt-opt %s --convert-clus-to-vector='vector-width=16 cols=24' 2>&1 | FileCheck %s --check-prefix=PASS-COLS
// RUN: not clusopt-opt %s --clus-gpu-tile-parallel-loops='threads=2048' 2>&1 | FileCheck %s --check-prefix=THREADS

// CHECK: llvm.func @no_clus_ops
// CHIP: error: clus-gpu-to-nvvm: unsupported chip 'sm_1'; expected sm_80, sm_86, sm_89 or sm_90
// CHIP-NOT: func.func
// FORMAT: error: clus-gpu-to-nvvm: format must be isa, bin or fatbin, got 'elf'
// WIDTH: error: clus-cpu-to-llvm: vector-width must be 4, 8 or 16 f32 lanes, got 5
// ROWS: error: clus-cpu-to-llvm: rows must be in [1, 8], got 9
// COLS: error: clus-cpu-to-llvm: cols must be a multiple of the vector width 8 in [8, 4096], got 12
// PASS-ROWS: error: invalid default tile: rows must be in [1, 8], got -1
// PASS-COLS: error: invalid default tile: cols must be a multiple of the vector width 16 in [16, 4096], got 24
// THREADS: error: threads must be in [1, 1024], got 2048

func.func @no_clus_ops(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

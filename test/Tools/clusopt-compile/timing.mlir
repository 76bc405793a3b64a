// RUN: clusopt-compile %s --emit=obj -o %t.o --mlir-timing 2>&1 | FileCheck %s
// RUN: clusopt-compile %s --emit=mlir -o - 2>/dev/null | FileCheck %s --check-prefix=MLIR

// --mlir-timing shows where compile time goes: parsing, each pass of the
// pipeline, LLVM's translation and -O3, and machine code. A remark (an op
// left to scalar loops) names the op by its line, without printing the op:
// printing it printed and verified the whole function for every remark.

// CHECK: timing.mlir:{{[0-9]+}}:{{[0-9]+}}: remark: clus-linalg-cpu-tiling: 'linalg.conv_2d_nchw_fchw' is lowered to scalar loops
// CHECK-NOT: see current operation
// CHECK: Execution time report
// CHECK-DAG: Parser
// CHECK-DAG: LinalgCpuTiling
// CHECK-DAG: OutlineParallelLoops
// CHECK-DAG: LLVM IR: translate, optimise
// CHECK-DAG: Machine code, link

// Each parallel loop nest is a function of its own until LLVM inlines it.
// MLIR-DAG: llvm.func @two_ops(
// MLIR-DAG: llvm.func internal @two_ops_par0(
// MLIR-DAG: llvm.func internal @two_ops_par1(

func.func @two_ops(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>)
    -> tensor<1x4x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<1x4x6x6xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x4x6x6xf32>)
      -> tensor<1x4x6x6xf32>
  %conv = linalg.conv_2d_nchw_fchw ins(%x, %w : tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>)
      outs(%acc : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %relu = linalg.generic {
      indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>,
                       affine_map<(a, b, c, d) -> (a, b, c, d)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv : tensor<1x4x6x6xf32>) outs(%empty : tensor<1x4x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x4x6x6xf32>
  return %relu : tensor<1x4x6x6xf32>
}

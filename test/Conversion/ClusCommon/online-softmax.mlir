// RUN: clusopt-opt %s --convert-clus-to-vector="vector-width=16 rows=1 cols=32" | FileCheck %s --check-prefixes=CHECK,CPU
// RUN: clusopt-opt %s --convert-clus-to-gpu | FileCheck %s --check-prefixes=CHECK,GPU

// The CPU and GPU lowerings run the same online-softmax step
// (ClusCommon/OnlineSoftmax.h) per row and tile of tokens:
//   max' = max(max, tile max), c = exp(max − max'),
//   sum' = sum·c + Σ exp(s − max'), acc' = acc·c + P·X.
// Only the tile's reductions differ: vector lanes on the CPU (select-based
// max tree, reassoc sum), mma fragments and warp shuffles on the GPU.

// CHECK-LABEL: func.func @fused_pool
// The token-tile loop carries each row's running max and sum (the GPU
// thread holds two rows, g and g + 8: max, max, sum, sum).
// CPU:         scf.for {{.*}} iter_args(%[[M:[a-z0-9_]+]] = %{{[a-z0-9_]+}}, %[[L:[a-z0-9_]+]] = %{{[a-z0-9_]+}}) -> (f32, f32)
// GPU:         scf.for {{.*}} iter_args(%[[M:[a-z0-9_]+]] = %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}}, %[[L:[a-z0-9_]+]] = %{{[a-z0-9_]+}},
// The tile max: lanes, then a tree of selects (CPU), or the thread's
// values, then the 4 lanes of the row (GPU).
// CPU:           vector.shuffle {{.*}} [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]
// CPU-NEXT:      arith.cmpf ogt
// CPU-NEXT:      arith.select
// CPU-NEXT:      vector.extract
// GPU:           gpu.shuffle  xor
// GPU:           gpu.shuffle  xor
// CHECK:         %[[NEWMAX:[a-z0-9_]+]] = arith.maximumf %[[M]], %{{.+}} : f32
// CHECK:         %[[D:[a-z0-9_]+]] = arith.subf %[[M]], %[[NEWMAX]] : f32
// CHECK-NEXT:    %[[C:[a-z0-9_]+]] = math.exp %[[D]] : f32
// The sum starts from the old sum times the correction.
// GPU:           %[[SCALED:[a-z0-9_]+]] = arith.mulf %[[L]], %[[C]] : f32
// CPU:           math.exp %{{.+}} : vector<16xf32>
// CPU:           %[[SCALED:[a-z0-9_]+]] = arith.mulf %[[L]], %[[C]] : f32
// CPU-NEXT:      %[[TILESUM:[a-z0-9_]+]] = vector.reduction <add>, %{{.+}} fastmath<reassoc>
// CPU-NEXT:      arith.addf %[[SCALED]], %[[TILESUM]] : f32
// GPU:           math.exp
// GPU-NEXT:      arith.addf %[[SCALED]], %{{.+}} : f32
// The accumulator is scaled by the correction: before P·X on the GPU, as
// P·X adds the tile on the CPU.
// GPU:           arith.mulf %{{.+}}, %[[C]] : f32
// GPU:           nvvm.mma.sync
// CPU:           %[[CV:[a-z0-9_]+]] = vector.broadcast %[[C]] : f32 to vector<16xf32>
// CPU:           arith.mulf %{{.+}}, %[[CV]] : vector<16xf32>
// CPU:           vector.fma
// CHECK:         scf.yield %[[NEWMAX]],
func.func @fused_pool(%logits: tensor<2x7x50xf16>, %x: tensor<2x50x20xf16>) -> tensor<2x7x20xf16> {
  %z_init = tensor.empty() : tensor<2x7x50xf16>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<2x7x50xf16>
  %y_init = tensor.empty() : tensor<2x7x20xf16>
  %y = clus.pool %z, %x outs(%y_init) : tensor<2x7x50xf16>, tensor<2x50x20xf16> -> tensor<2x7x20xf16>
  return %y : tensor<2x7x20xf16>
}

// RUN: clusopt-opt %s --clus-gpu-bufferize | FileCheck %s

// The GPU pipeline's bufferization leaves the clus ops on tensors (their
// kernels are emitted afterwards, by convert-clus-to-gpu) and bufferizes
// everything else; plain one-shot-bufferize would give them their buffer
// form.
// CHECK-LABEL: func.func @attention
// CHECK-SAME:    (%[[Q:[^:]+]]: memref<1x2x8x16xf32>, %[[K:[^:]+]]: memref<1x2x4x16xf32>)
// CHECK-DAG:     %[[QT:.+]] = bufferization.to_tensor %[[Q]]
// CHECK-DAG:     %[[KT:.+]] = bufferization.to_tensor %[[K]]
// CHECK:         %[[O:.+]] = clus.attention %[[QT]], [%[[KT]], %[[KT]]] outs(%{{.+}}) : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>] -> tensor<1x2x8x16xf32>
// CHECK:         %[[B:.+]] = bufferization.to_buffer %[[O]]
// CHECK:         linalg.generic {{.+}} ins(%[[B]] : memref<1x2x8x16xf32{{.*}}>) outs(%{{.+}} : memref<1x2x8x16xf32>)
func.func @attention(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x4x16xf32>)
    -> tensor<1x2x8x16xf32> {
  %init = tensor.empty() : tensor<1x2x8x16xf32>
  %o = clus.attention %q, [%k, %k] outs(%init)
      : tensor<1x2x8x16xf32>, [tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>]
      -> tensor<1x2x8x16xf32>
  %e = tensor.empty() : tensor<1x2x8x16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>,
                                        affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o : tensor<1x2x8x16xf32>) outs(%e : tensor<1x2x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<1x2x8x16xf32>
  return %r : tensor<1x2x8x16xf32>
}

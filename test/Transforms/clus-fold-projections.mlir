// RUN: clusopt-opt %s --clus-fold-projections --split-input-file | FileCheck %s

// Narrow projection of wide tokens (C = 320 → 64, M = 100, N = 196):
// projecting first costs 196·320·64 + 100·196·64 = 5.3 M multiply-adds
// against 8.3 M, so the matmul moves before the pool. The soft_assign is
// untouched and still feeds the pool.

// CHECK-LABEL: func.func @project_first
// CHECK-SAME:    (%[[L:.+]]: tensor<1x100x196xf32>, %[[X:.+]]: tensor<1x196x320xf32>, %[[W:.+]]: tensor<1x320x64xf32>)
// CHECK:         %[[Z:.+]] = clus.soft_assign %[[L]]
// CHECK:         %[[E:.+]] = tensor.empty() : tensor<1x196x64xf32>
// CHECK:         %[[F:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E]] : tensor<1x196x64xf32>)
// CHECK:         %[[XW:.+]] = linalg.batch_matmul ins(%[[X]], %[[W]] : tensor<1x196x320xf32>, tensor<1x320x64xf32>) outs(%[[F]] : tensor<1x196x64xf32>)
// CHECK:         %[[Y:.+]] = clus.pool %[[Z]], %[[XW]] outs({{.+}}) : tensor<1x100x196xf32>, tensor<1x196x64xf32>
// CHECK:         return %[[Y]]
func.func @project_first(%l: tensor<1x100x196xf32>, %x: tensor<1x196x320xf32>, %w: tensor<1x320x64xf32>) -> tensor<1x100x64xf32> {
  %z_init = tensor.empty() : tensor<1x100x196xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x100x196xf32>
  %y_init = tensor.empty() : tensor<1x100x320xf32>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<1x100x196xf32>, tensor<1x196x320xf32> -> tensor<1x100x320xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x100x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x100x64xf32>) -> tensor<1x100x64xf32>
  %k = linalg.batch_matmul ins(%y, %w : tensor<1x100x320xf32>, tensor<1x320x64xf32>) outs(%acc : tensor<1x100x64xf32>) -> tensor<1x100x64xf32>
  return %k : tensor<1x100x64xf32>
}

// -----

// PaCa stage 1 (C = C' = 96, M = 100, N = 3136): pooling first is cheaper
// (31 M against 59 M), so a projection written before the pool moves after
// it. A broadcast 2-D weight keeps its indexing maps.

// CHECK-DAG:   #[[$A:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG:   #[[$B:.+]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-LABEL: func.func @pool_first
// CHECK-SAME:    (%[[Z:.+]]: tensor<1x100x3136xf32>, %[[X:.+]]: tensor<1x3136x96xf32>, %[[W:.+]]: tensor<96x96xf32>)
// CHECK:         %[[Y:.+]] = clus.pool %[[Z]], %[[X]] outs({{.+}}) : tensor<1x100x3136xf32>, tensor<1x3136x96xf32>
// CHECK:         %[[F:.+]] = linalg.fill {{.*}} -> tensor<1x100x96xf32>
// CHECK:         %[[K:.+]] = linalg.batch_matmul indexing_maps = [#[[$A]], #[[$B]], #{{.+}}] ins(%[[Y]], %[[W]] : tensor<1x100x96xf32>, tensor<96x96xf32>) outs(%[[F]] : tensor<1x100x96xf32>)
// CHECK:         return %[[K]]
func.func @pool_first(%z: tensor<1x100x3136xf32>, %x: tensor<1x3136x96xf32>, %w: tensor<96x96xf32>) -> tensor<1x100x96xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3136x96xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x3136x96xf32>) -> tensor<1x3136x96xf32>
  %xw = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%x, %w : tensor<1x3136x96xf32>, tensor<96x96xf32>) outs(%acc : tensor<1x3136x96xf32>) -> tensor<1x3136x96xf32>
  %y_init = tensor.empty() : tensor<1x100x96xf32>
  %y = clus.pool %z, %xw outs(%y_init)
      : tensor<1x100x3136xf32>, tensor<1x3136x96xf32> -> tensor<1x100x96xf32>
  return %y : tensor<1x100x96xf32>
}

// -----

// Already on the cheaper side, a non-zero accumulator, a second use of the
// pool, or a dynamic size: nothing moves.

// CHECK-LABEL: func.func @unchanged
// CHECK-COUNT-4: clus.pool %{{.+}}, %arg
// CHECK-NOT:     clus.pool
func.func @unchanged(%z: tensor<1x100x3136xf32>, %x: tensor<1x3136x96xf32>, %w: tensor<1x96x96xf32>, %acc: tensor<1x100x96xf32>, %zd: tensor<1x100x?xf32>, %xd: tensor<1x?x320xf32>, %w64: tensor<1x320x64xf32>, %acc64: tensor<1x100x64xf32>) -> (tensor<1x100x96xf32>, tensor<1x100x96xf32>, tensor<1x100x96xf32>, tensor<1x100x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %fill = linalg.fill ins(%zero : f32) outs(%acc : tensor<1x100x96xf32>) -> tensor<1x100x96xf32>
  %y1_init = tensor.empty() : tensor<1x100x96xf32>
  %y1 = clus.pool %z, %x outs(%y1_init)
      : tensor<1x100x3136xf32>, tensor<1x3136x96xf32> -> tensor<1x100x96xf32>
  %k1 = linalg.batch_matmul ins(%y1, %w : tensor<1x100x96xf32>, tensor<1x96x96xf32>) outs(%fill : tensor<1x100x96xf32>) -> tensor<1x100x96xf32>
  %y2_init = tensor.empty() : tensor<1x100x96xf32>
  %y2 = clus.pool %z, %x outs(%y2_init)
      : tensor<1x100x3136xf32>, tensor<1x3136x96xf32> -> tensor<1x100x96xf32>
  %k2 = linalg.batch_matmul ins(%y2, %w : tensor<1x100x96xf32>, tensor<1x96x96xf32>) outs(%acc : tensor<1x100x96xf32>) -> tensor<1x100x96xf32>
  %y3_init = tensor.empty() : tensor<1x100x96xf32>
  %y3 = clus.pool %z, %x outs(%y3_init)
      : tensor<1x100x3136xf32>, tensor<1x3136x96xf32> -> tensor<1x100x96xf32>
  %k3 = linalg.batch_matmul ins(%y3, %w : tensor<1x100x96xf32>, tensor<1x96x96xf32>) outs(%fill : tensor<1x100x96xf32>) -> tensor<1x100x96xf32>
  %sum = arith.addf %k3, %y3 : tensor<1x100x96xf32>
  %fill64 = linalg.fill ins(%zero : f32) outs(%acc64 : tensor<1x100x64xf32>) -> tensor<1x100x64xf32>
  %y4_init = tensor.empty() : tensor<1x100x320xf32>
  %y4 = clus.pool %zd, %xd outs(%y4_init)
      : tensor<1x100x?xf32>, tensor<1x?x320xf32> -> tensor<1x100x320xf32>
  %k4 = linalg.batch_matmul ins(%y4, %w64 : tensor<1x100x320xf32>, tensor<1x320x64xf32>) outs(%fill64 : tensor<1x100x64xf32>) -> tensor<1x100x64xf32>
  return %k1, %k2, %sum, %k4 : tensor<1x100x96xf32>, tensor<1x100x96xf32>, tensor<1x100x96xf32>, tensor<1x100x64xf32>
}

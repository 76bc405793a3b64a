// RUN: clusopt-opt %s --clus-unshare-destinations | FileCheck %s
// RUN: clusopt-opt %s --clus-unshare-destinations --one-shot-bufferize="bufferize-function-boundaries allow-return-allocs-from-loops" | FileCheck %s --check-prefix=BUF

// One zero accumulator (as CSE leaves it) written by two matmuls: each
// matmul gets a fill of a tensor.empty of its own, right before it.
// CHECK-LABEL: func.func @two_matmuls
// CHECK:         %[[E1:.*]] = tensor.empty
// CHECK-NEXT:    %[[F1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E1]]
// CHECK-NEXT:    linalg.matmul {{.*}} outs(%[[F1]]
// CHECK-NEXT:    %[[E2:.*]] = tensor.empty
// CHECK-NEXT:    %[[F2:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E2]]
// CHECK-NEXT:    linalg.matmul {{.*}} outs(%[[F2]]
// Without the pass, bufferization would copy the filled buffer for one of
// them; with it, nothing is copied.
// BUF-LABEL: func.func @two_matmuls
// BUF-NOT:     memref.copy
// BUF-COUNT-2: linalg.fill
// BUF-NOT:     memref.copy
// BUF:         return
func.func @two_matmuls(%a: tensor<64x32xf32>, %b: tensor<32x16xf32>, %c: tensor<32x16xf32>)
    -> (tensor<64x16xf32>, tensor<64x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x16xf32>) -> tensor<64x16xf32>
  %x = linalg.matmul ins(%a, %b : tensor<64x32xf32>, tensor<32x16xf32>) outs(%f : tensor<64x16xf32>) -> tensor<64x16xf32>
  %y = linalg.matmul ins(%a, %c : tensor<64x32xf32>, tensor<32x16xf32>) outs(%f : tensor<64x16xf32>) -> tensor<64x16xf32>
  return %x, %y : tensor<64x16xf32>, tensor<64x16xf32>
}

// A fill that one op reads and one op writes: the writer gets its own,
// the reader keeps the original. A fill with a single use is left alone.
// CHECK-LABEL: func.func @read_and_write
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<8xf32>
// CHECK:         %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]]
// CHECK:         %[[E2:.*]] = tensor.empty() : tensor<8xf32>
// CHECK-NEXT:    %[[F2:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E2]]
// CHECK-NEXT:    linalg.generic {{.*}} ins(%{{.*}} : tensor<8x4xf32>) outs(%[[F2]]
// CHECK:         linalg.generic {{.*}} ins(%[[F]] : tensor<8xf32>)
// CHECK-NOT:     linalg.fill
// CHECK:         return
func.func @read_and_write(%x: tensor<8x4xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x4xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %e1 = tensor.empty() : tensor<8xf32>
  %plus1 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                           iterator_types = ["parallel"]}
      ins(%f : tensor<8xf32>) outs(%e1 : tensor<8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %s = arith.addf %in, %one : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %sum, %plus1 : tensor<8xf32>, tensor<8xf32>
}

// A fill used inside a loop is cloned outside it, after the fill, never
// into the loop body (which would fill the whole tensor every iteration).
// CHECK-LABEL: func.func @used_in_loop
// CHECK:         linalg.fill
// CHECK-NEXT:    tensor.empty
// CHECK-NEXT:    linalg.fill
// CHECK:         scf.for
// CHECK-NOT:       linalg.fill
// CHECK:         return
func.func @used_in_loop(%a: tensor<4x4xf32>, %n: index) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %x = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%f : tensor<4x4xf32>) -> tensor<4x4xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %a) -> tensor<4x4xf32> {
    %y = linalg.matmul ins(%acc, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%f : tensor<4x4xf32>) -> tensor<4x4xf32>
    scf.yield %y : tensor<4x4xf32>
  }
  return %x, %r : tensor<4x4xf32>, tensor<4x4xf32>
}

// One tensor.empty (as CSE leaves it) as the destination of two unrelated
// ops: each gets its own, so bufferization cannot have the second write
// over the first's dead buffer. A tensor.empty that is sliced and written
// back (a decomposed pad) stays one.
// CHECK-LABEL: func.func @shared_empty
// CHECK:         %[[E1:.*]] = tensor.empty() : tensor<8x4xf32>
// CHECK-NEXT:    linalg.generic {{.*}} outs(%[[E1]] :
// CHECK:         %[[E2:.*]] = tensor.empty() : tensor<8x4xf32>
// CHECK-NEXT:    linalg.generic {{.*}} outs(%[[E2]] :
// CHECK:         %[[P:.*]] = tensor.empty() : tensor<10x4xf32>
// CHECK-NEXT:    %[[S:.*]] = tensor.extract_slice %[[P]]
// CHECK-NEXT:    %[[F:.*]] = linalg.fill {{.*}} outs(%[[S]] :
// CHECK-NEXT:    tensor.insert_slice %[[F]] into %[[P]]
// CHECK-NOT:     tensor.empty
// CHECK:         return
#id = affine_map<(i, j) -> (i, j)>
func.func @shared_empty(%x: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>, tensor<10x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x4xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x4xf32>) outs(%e : tensor<8x4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %s = arith.addf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<8x4xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x4xf32>) outs(%e : tensor<8x4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<8x4xf32>
  %p = tensor.empty() : tensor<10x4xf32>
  %slab = tensor.extract_slice %p[0, 0] [1, 4] [1, 1] : tensor<10x4xf32> to tensor<1x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%slab : tensor<1x4xf32>) -> tensor<1x4xf32>
  %q = tensor.insert_slice %f into %p[0, 0] [1, 4] [1, 1] : tensor<1x4xf32> into tensor<10x4xf32>
  return %a, %b, %q : tensor<8x4xf32>, tensor<8x4xf32>, tensor<10x4xf32>
}

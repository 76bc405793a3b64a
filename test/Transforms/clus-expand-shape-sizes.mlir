// RUN: clusopt-opt %s --clus-expand-shape-sizes --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --split-input-file --clus-expand-shape-sizes --expand-strided-metadata --lower-affine --finalize-memref-to-llvm --convert-arith-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | FileCheck %s --check-prefix=LLVM

// Two dynamic sizes in one group: expand-strided-metadata alone crashes on
// this. The sizes come from the op, the strides are row-major inside the
// group, scaled by the source's stride.

// CHECK-LABEL: func.func @two_dynamic
// CHECK-SAME:    (%[[X:.+]]: memref<?xf32>, %[[A:.+]]: index, %[[B:.+]]: index)
// CHECK:         memref.reinterpret_cast %[[X]] to offset: [0], sizes: [%[[A]], %[[B]]], strides: [%[[B]], 1]
// CHECK-NOT:     memref.expand_shape
// LLVM-LABEL:  llvm.func @two_dynamic
// LLVM-NOT:      memref.expand_shape
func.func @two_dynamic(%x: memref<?xf32>, %a: index, %b: index) -> memref<?x?xf32> {
  %y = memref.expand_shape %x [[0, 1]] output_shape [%a, %b]
      : memref<?xf32> into memref<?x?xf32>
  return %y : memref<?x?xf32>
}

// -----

// A strided source, a static size between two dynamic ones, and a second
// group: each group starts from its own source stride.

// CHECK-LABEL: func.func @strided_groups
// CHECK:         %[[BASE:.+]], %[[OFF:.+]], %[[SIZES:.+]]:2, %[[STRIDES:.+]]:2 = memref.extract_strided_metadata
// CHECK:         %[[MID:.+]] = affine.apply #[[$TIMES:.+]]()[%[[STRIDES]]#0, %[[B:.+]]]
// CHECK:         %[[OUTER:.+]] = affine.apply #[[$TIMES4:.+]]()[%[[STRIDES]]#0, %[[B]]]
// CHECK:         memref.reinterpret_cast {{.+}} to offset: [%[[OFF]]], sizes: [%{{.+}}, 4, %[[B]], 3], strides: [%[[OUTER]], %[[MID]], %[[STRIDES]]#0, %[[STRIDES]]#1]
// LLVM-LABEL:  llvm.func @strided_groups
// LLVM-NOT:      memref.expand_shape
func.func @strided_groups(%x: memref<?x3xf32, strided<[?, ?], offset: ?>>,
                          %a: index, %b: index)
    -> memref<?x4x?x3xf32, strided<[?, ?, ?, ?], offset: ?>> {
  %y = memref.expand_shape %x [[0, 1, 2], [3]] output_shape [%a, 4, %b, 3]
      : memref<?x3xf32, strided<[?, ?], offset: ?>>
        into memref<?x4x?x3xf32, strided<[?, ?, ?, ?], offset: ?>>
  return %y : memref<?x4x?x3xf32, strided<[?, ?, ?, ?], offset: ?>>
}

// -----

// One dynamic size per group is left to expand-strided-metadata.

// CHECK-LABEL: func.func @one_dynamic
// CHECK:         memref.expand_shape
// CHECK-NOT:     memref.reinterpret_cast
func.func @one_dynamic(%x: memref<?xf32>, %b: index) -> memref<4x?xf32> {
  %y = memref.expand_shape %x [[0, 1]] output_shape [4, %b]
      : memref<?xf32> into memref<4x?xf32>
  return %y : memref<4x?xf32>
}

// RUN: clusopt-opt %s --convert-clus-to-gpu --split-input-file | FileCheck %s

// f16 attention: K/V tiles in dynamic shared memory, tensor-core mma with
// f32 accumulation for both products, row statistics combined across the 4
// lanes of a row with xor shuffles, and one result buffer.

// CHECK-LABEL: func.func @attention_f16
// CHECK:         memref.alloc{{.*}} : memref<2x3x196x32xf16>
// CHECK:         gpu.launch blocks
// CHECK-SAME:      dynamic_shared_memory_size
// CHECK:           gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK:           memref.view {{.*}} to memref<?x?xf16, #gpu.address_space<workgroup>>
// CHECK:           gpu.barrier
// CHECK:           nvvm.mma.sync {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:           gpu.shuffle xor
// CHECK:           math.exp
// CHECK:           nvvm.mma.sync
// CHECK:           gpu.shuffle xor
// CHECK:           memref.store {{.*}} : memref<2x3x196x32xf16>
// CHECK:         bufferization.to_tensor
func.func @attention_f16(%q: tensor<2x3x196x32xf16>, %k: tensor<2x3x49x32xf16>,
                         %v: tensor<2x3x49x32xf16>) -> tensor<2x3x196x32xf16> {
  %o_init = tensor.empty() : tensor<2x3x196x32xf16>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<2x3x196x32xf16>, [tensor<2x3x49x32xf16>, tensor<2x3x49x32xf16>]
      -> tensor<2x3x196x32xf16>
  return %o : tensor<2x3x196x32xf16>
}

// -----

// bf16 operands are packed into i32 registers for mma.sync.
// CHECK-LABEL: func.func @attention_bf16
// CHECK:         vector.bitcast {{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK:         nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>{{.*}} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @attention_bf16(%q: tensor<1x1x?x64xbf16>, %k: tensor<1x1x?x64xbf16>,
                          %v: tensor<1x1x?x64xbf16>) -> tensor<1x1x?x64xbf16> {
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<1x1x?x64xbf16>
  %o_init = tensor.empty(%o_init_d2) : tensor<1x1x?x64xbf16>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x1x?x64xbf16>, [tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>]
      -> tensor<1x1x?x64xbf16>
  return %o : tensor<1x1x?x64xbf16>
}

// -----

// f32 has no tensor-core path at full precision: the same fragment layout
// with FMAs, and P·V reads P from the lanes that hold it.
// CHECK-LABEL: func.func @attention_f32
// CHECK:         gpu.launch
// CHECK:           gpu.shuffle xor
// CHECK:           gpu.shuffle idx
// CHECK:         bufferization.to_tensor
// CHECK-NOT:     nvvm.mma.sync
// CHECK-LABEL: func.func @next
func.func @attention_f32(%q: tensor<1x2x7x24xf32>, %k: tensor<1x2x2x24xf32>,
                         %v: tensor<1x2x2x24xf32>) -> tensor<1x2x7x24xf32> {
  %o_init = tensor.empty() : tensor<1x2x7x24xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x7x24xf32>, [tensor<1x2x2x24xf32>, tensor<1x2x2x24xf32>]
      -> tensor<1x2x7x24xf32>
  return %o : tensor<1x2x7x24xf32>
}
func.func @next() {
  return
}

// -----

// soft_assign over tokens is fused into the pool that consumes it: the
// logits are read once, no [B, M, N] probability buffer is allocated.
// CHECK-LABEL: func.func @soft_assign_pool
// CHECK-NOT:     clus.soft_assign
// CHECK-NOT:     memref.alloc{{.*}}x49x196x
// CHECK:         memref.alloc{{.*}} : memref<?x49x64xf16>
// CHECK:         gpu.launch
// CHECK:           nvvm.mma.sync
// CHECK-NOT:     clus.
// CHECK:         return
func.func @soft_assign_pool(%l: tensor<?x49x196xf16>, %x: tensor<?x196x64xf16>) -> tensor<?x49x64xf16> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x49x196xf16>
  %z_init = tensor.empty(%z_init_d0) : tensor<?x49x196xf16>
  %z = clus.soft_assign %l outs(%z_init) : tensor<?x49x196xf16>
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %l, %y_init_c0 : tensor<?x49x196xf16>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x49x64xf16>
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x49x196xf16>, tensor<?x196x64xf16> -> tensor<?x49x64xf16>
  return %y : tensor<?x49x64xf16>
}

// -----

// cluster_attention: a summaries kernel, then one thread per output element.
// Its scratch buffer is freed after the last kernel that reads it.
// CHECK-LABEL: func.func @cluster_attention
// CHECK:         %[[R:.*]] = memref.alloc{{.*}} : memref<?x?x?xf32>
// CHECK:         gpu.launch
// CHECK:         gpu.launch
// CHECK:         memref.dealloc %[[R]]
func.func @cluster_attention(%q: tensor<1x2x9x8xf32>, %k: tensor<1x2x9x8xf32>, %v: tensor<1x2x9x8xf32>,
                             %m: tensor<1x3x2xi32>, %aq: tensor<1x2x9x3xf32>, %ak: tensor<1x2x9x3xf32>) -> tensor<1x2x9x8xf32> {
  %o_init = tensor.empty() : tensor<1x2x9x8xf32>
  %o = clus.cluster_attention %q, %k, %v members(%m) affinities(%aq, %ak) outs(%o_init)
      : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x3x2xi32>, tensor<1x2x9x3xf32>, tensor<1x2x9x3xf32>
      -> tensor<1x2x9x8xf32>
  return %o : tensor<1x2x9x8xf32>
}

// -----

// Ops without a GPU kernel are left for convert-clus-to-linalg.
// CHECK-LABEL: func.func @kmeans
// CHECK:         clus.kmeans
// CHECK-NOT:     gpu.launch
// CHECK:         return
func.func @kmeans(%x: tensor<1x9x4xf32>) -> (tensor<1x9xi32>, tensor<1x3x4xf32>) {
  %a_init = tensor.empty() : tensor<1x9xi32>
  %c_init = tensor.empty() : tensor<1x3x4xf32>
  %a, %c = clus.kmeans %x clusters = 3 iterations = 2 outs(%a_init, %c_init)
      : tensor<1x9x4xf32> -> tensor<1x9xi32>, tensor<1x3x4xf32>
  return %a, %c : tensor<1x9xi32>, tensor<1x3x4xf32>
}

// Attribute values never unroll: dpc_knn's k and cluster counts and
// topk_members' capacity as large as the verifier allows lower to loops of
// a size independent of the value (no list of k slots on the stack, no k
// stores), and the whole CPU pipeline finishes. The unrolled path stays for
// small k (see convert-clus-to-vector.mlir).
//
// RUN: clusopt-opt %s --convert-clus-to-vector="vector-width=16" --canonicalize --split-input-file | FileCheck %s
// RUN: clusopt-opt %s --clus-cpu-to-llvm --split-input-file | wc -l | FileCheck %s --check-prefix=SIZE
// RUN: clusopt-opt %s --clus-to-llvm --split-input-file | wc -l | FileCheck %s --check-prefix=SIZE

// Fewer than 10 000 lines for the three functions (unrolled, k alone
// would be millions).
// SIZE: {{^[0-9]{1,4}$}}

// The k nearest: a list of min-length slots sized at run time, on the
// heap (k slots per row on a worker's stack could overflow it), filled and
// shifted by loops.
// CHECK-LABEL: func.func @dpc_knn_huge_k
// CHECK:         memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK:         scf.for
// CHECK-NOT:     memref<2147483647xf32>
// CHECK-NOT:     memref.alloca(%{{.*}}) {{.*}} : memref<?xf32>
// CHECK-LABEL: func.func @dpc_knn_many_clusters
func.func @dpc_knn_huge_k(%x: tensor<?x?x16xf32>)
    -> (tensor<?x1x?xi32>, tensor<?x1x8xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x16xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x16xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x1x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x16xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x1x8xi32>
  %a, %c = clus.dpc_knn %x clusters = [8] k = 2147483647 outs(%a_init, %c_init)
      : tensor<?x?x16xf32> -> tensor<?x1x?xi32>, tensor<?x1x8xi32>
  return %a, %c : tensor<?x1x?xi32>, tensor<?x1x8xi32>
}

// -----

// The running top-M centres live on the heap, [B, max M], and are set and
// read by loops.
// CHECK:         memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x1000000xf32>
// CHECK:         memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x1000000xindex>
// CHECK-NOT:     memref.alloca() {{.*}} : memref<1000000x
func.func @dpc_knn_many_clusters(%x: tensor<?x?x16xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x1000000xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x16xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x16xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x16xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x1000000xi32>
  %a, %c = clus.dpc_knn %x clusters = [1000000, 3] k = 100000 outs(%a_init, %c_init)
      : tensor<?x?x16xf32> -> tensor<?x2x?xi32>, tensor<?x2x1000000xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x1000000xi32>
}

// -----

// Past 512 slots the ranked lists are slices of a heap buffer
// [B, cluster vectors, κ, 16], not stack scratch.
// CHECK-LABEL: func.func @topk_members_huge_capacity
// CHECK:         memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x?x100000x16xf32>
// CHECK:         memref.subview
// CHECK-NOT:     memref.alloca() {{.*}} : memref<100000x16
func.func @topk_members_huge_capacity(%g: tensor<?x?x?xf32>)
    -> tensor<?x?x100000xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x100000xi32>
  %m = clus.topk_members %g capacity = 100000 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x100000xi32>
  return %m : tensor<?x?x100000xi32>
}

// Kernels compiled to a shared library and called through the runtime's
// KernelLibrary (runtime/tests/kernel-test.cpp), which compares every result
// with plain loops and checks the errors for bad calls.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: clusopt-compile %s --target=host -o %t/k.so
// RUN: clusopt-runtime-kernel-test %t/k.so %t | FileCheck %s

// CHECK: entry paca (_mlir_ciface_paca): tensor<?x?x?xf32> tensor<?x?x?xf32> -> tensor<?x?x?xf32>
func.func @paca(%logits: tensor<?x?x?xf32>, %x: tensor<?x?x?xf32>)
    -> tensor<?x?x?xf32> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %logits, %z_init_c0 : tensor<?x?x?xf32>
  %z_init_c1 = arith.constant 1 : index
  %z_init_d1 = tensor.dim %logits, %z_init_c1 : tensor<?x?x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %logits, %z_init_c2 : tensor<?x?x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d1, %z_init_d2) : tensor<?x?x?xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<?x?x?xf32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %logits, %c_init_c0 : tensor<?x?x?xf32>
  %c_init_c1 = arith.constant 1 : index
  %c_init_d1 = tensor.dim %logits, %c_init_c1 : tensor<?x?x?xf32>
  %c_init_c2 = arith.constant 2 : index
  %c_init_d2 = tensor.dim %x, %c_init_c2 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0, %c_init_d1, %c_init_d2) : tensor<?x?x?xf32>
  %c = clus.pool %z, %x outs(%c_init)
      : tensor<?x?x?xf32>, tensor<?x?x?xf32> -> tensor<?x?x?xf32>
  return %c : tensor<?x?x?xf32>
}

// CHECK: entry assign_and_pool (_mlir_ciface_assign_and_pool): {{.*}} -> tensor<?x?x?xf32> tensor<?x?x?xf32>
func.func @assign_and_pool(%logits: tensor<?x?x?xf32>, %x: tensor<?x?x?xf32>)
    -> (tensor<?x?x?xf32>, tensor<?x?x?xf32>) {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %logits, %z_init_c0 : tensor<?x?x?xf32>
  %z_init_c1 = arith.constant 1 : index
  %z_init_d1 = tensor.dim %logits, %z_init_c1 : tensor<?x?x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %logits, %z_init_c2 : tensor<?x?x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d1, %z_init_d2) : tensor<?x?x?xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<?x?x?xf32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %logits, %c_init_c0 : tensor<?x?x?xf32>
  %c_init_c1 = arith.constant 1 : index
  %c_init_d1 = tensor.dim %logits, %c_init_c1 : tensor<?x?x?xf32>
  %c_init_c2 = arith.constant 2 : index
  %c_init_d2 = tensor.dim %x, %c_init_c2 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0, %c_init_d1, %c_init_d2) : tensor<?x?x?xf32>
  %c = clus.pool %z, %x outs(%c_init)
      : tensor<?x?x?xf32>, tensor<?x?x?xf32> -> tensor<?x?x?xf32>
  return %z, %c : tensor<?x?x?xf32>, tensor<?x?x?xf32>
}

// CHECK: entry attention (_mlir_ciface_attention): tensor<1x2x?x8xbf16> tensor<1x2x?x8xbf16> tensor<1x2x?x8xbf16> -> tensor<1x2x?x8xbf16>
func.func @attention(%q: tensor<1x2x?x8xbf16>, %k: tensor<1x2x?x8xbf16>,
                     %v: tensor<1x2x?x8xbf16>) -> tensor<1x2x?x8xbf16> {
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<1x2x?x8xbf16>
  %o_init = tensor.empty(%o_init_d2) : tensor<1x2x?x8xbf16>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x?x8xbf16>, [tensor<1x2x?x8xbf16>, tensor<1x2x?x8xbf16>]
      -> tensor<1x2x?x8xbf16>
  return %o : tensor<1x2x?x8xbf16>
}

// CHECK: entry twice5 (_mlir_ciface_twice5): tensor<?x?x?x?x?xf32> -> tensor<?x?x?x?x?xf32>
func.func @twice5(%x: tensor<?x?x?x?x?xf32>) -> tensor<?x?x?x?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x?x?x?x?xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x?x?x?xf32>
  %d2 = tensor.dim %x, %c2 : tensor<?x?x?x?x?xf32>
  %d3 = tensor.dim %x, %c3 : tensor<?x?x?x?x?xf32>
  %d4 = tensor.dim %x, %c4 : tensor<?x?x?x?x?xf32>
  %e = tensor.empty(%d0, %d1, %d2, %d3, %d4) : tensor<?x?x?x?x?xf32>
  %y = linalg.add ins(%x, %x : tensor<?x?x?x?x?xf32>, tensor<?x?x?x?x?xf32>)
      outs(%e : tensor<?x?x?x?x?xf32>) -> tensor<?x?x?x?x?xf32>
  return %y : tensor<?x?x?x?x?xf32>
}

// CHECK: entry twice1 (_mlir_ciface_twice1): tensor<?xi32> -> tensor<?xi32>
func.func @twice1(%x: tensor<?xi32>) -> tensor<?xi32> {
  %c0 = arith.constant 0 : index
  %d0 = tensor.dim %x, %c0 : tensor<?xi32>
  %e = tensor.empty(%d0) : tensor<?xi32>
  %y = linalg.add ins(%x, %x : tensor<?xi32>, tensor<?xi32>)
      outs(%e : tensor<?xi32>) -> tensor<?xi32>
  return %y : tensor<?xi32>
}

// CHECK: libomp copies loaded: 1
// CHECK: paca: results match the reference loops
// CHECK: attention: bf16 results match the reference loops
// CHECK: twice: ranks 1 and 5 match
// CHECK: wrong-count: kernel 'paca': expected 2 arguments, got 1
// CHECK: wrong-rank: kernel 'paca': argument 1: expected tensor<?x?x?xf32>, got f32 tensor of shape [2, 1, 3, 4, 5]
// CHECK: wrong-dtype: kernel 'attention': argument 2: expected tensor<1x2x?x8xbf16>, got f32 tensor of shape [2, 5, 37]
// CHECK: wrong-static-dim: kernel 'attention': argument 0: expected tensor<1x2x?x8xbf16>, got bf16 tensor of shape [1, 3, 23, 8]
// CHECK: unknown-entry: {{.*}}k.so: no entry point 'flash'
// CHECK: missing-symbol: entry point 'twice1': symbol '_mlir_ciface_thrice' not found (manifest and library differ?)
// CHECK: bad-manifest: not valid JSON: {{.+}}
// CHECK: kernel-test: OK

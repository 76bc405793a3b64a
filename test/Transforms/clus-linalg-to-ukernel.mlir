// RUN: clusopt-opt %s --clus-linalg-to-ukernel --canonicalize --cse --split-input-file --verify-diagnostics | FileCheck %s

// Arguments of clusopt_ukernel_gemm_f32: a, b, c, bias, residual, batch, m,
// n, k, a's (batch, row, col) strides, b's, c's (batch, row), the
// residual's (batch, row), flags (1: GELU).

// A zero-filled matmul is one call that stores (no residual); the fill and
// the matmul are gone.
// CHECK-LABEL: llvm.func @clusopt_ukernel_gemm_f32(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @matmul
// CHECK-NOT:     linalg.
// CHECK:         %[[NULL:.+]] = llvm.mlir.zero : !llvm.ptr
// CHECK:         llvm.call @clusopt_ukernel_gemm_f32(%{{.+}}, %{{.+}}, %{{.+}}, %[[NULL]], %[[NULL]], %c1_i64, %c50_i64, %c100_i64, %c30_i64, %c0_i64, %c30_i64, %c1_i64, %c0_i64, %c100_i64, %c1_i64, %c0_i64, %c100_i64, %c0_i64, %c0_i64, %c0_i64)
// CHECK-NOT:     linalg.
func.func @matmul(%a: memref<50x30xf32>, %b: memref<30x100xf32>, %c: memref<50x100xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<50x100xf32>)
  linalg.matmul ins(%a, %b : memref<50x30xf32>, memref<30x100xf32>) outs(%c : memref<50x100xf32>)
  return
}

// -----

// Without a zero fill the matmul accumulates: c is also the residual.
// CHECK-LABEL: func.func @accumulate
// CHECK:         linalg.fill
// CHECK:         llvm.call @clusopt_ukernel_gemm_f32(%{{[0-9]+}}, %{{[0-9]+}}, %[[C:[0-9]+]], %{{[0-9]+}}, %[[C]], %c1_i64, %c50_i64, %c100_i64, %c30_i64, {{.+}}, %c0_i64, %c100_i64, %c0_i64, %c100_i64, %c0_i64)
func.func @accumulate(%a: memref<50x30xf32>, %b: memref<30x100xf32>, %c: memref<50x100xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%c : memref<50x100xf32>)
  linalg.matmul ins(%a, %b : memref<50x30xf32>, memref<30x100xf32>) outs(%c : memref<50x100xf32>)
  return
}

// -----

// Transposed operands through indexing maps are strides: B [N, K] read as
// K x N has row stride 1 and column stride 30; A [K, M] likewise. Dynamic
// M comes from the buffer.
// CHECK-LABEL: func.func @transposed
// CHECK-SAME:    (%[[A:.+]]: memref<30x?xf32>, %[[B:.+]]: memref<100x30xf32>, %[[C:.+]]: memref<?x100xf32>)
// CHECK:         %{{.+}}, %{{.+}}, %{{.+}}:2, %[[ASTRIDE:.+]]:2 = memref.extract_strided_metadata %[[A]]
// CHECK:         %{{.+}}, %{{.+}}, %[[CSIZE:.+]]:2, %{{.+}}:2 = memref.extract_strided_metadata %[[C]]
// CHECK:         %[[M:.+]] = arith.index_cast %[[CSIZE]]#0 : index to i64
// CHECK:         %[[AROW:.+]] = arith.index_cast %[[ASTRIDE]]#0 : index to i64
// CHECK:         llvm.call @clusopt_ukernel_gemm_f32(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c1_i64, %[[M]], %c100_i64, %c30_i64, %c0_i64, %c1_i64, %[[AROW]], %c0_i64, %c1_i64, %c30_i64, %c0_i64, %c100_i64, %c0_i64, %c0_i64, %c0_i64)
func.func @transposed(%a: memref<30x?xf32>, %b: memref<100x30xf32>, %c: memref<?x100xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x100xf32>)
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
    ins(%a, %b : memref<30x?xf32>, memref<100x30xf32>) outs(%c : memref<?x100xf32>)
  return
}

// -----

// A batch_matmul with a 2-D B shared by every batch: B's batch stride is 0.
// CHECK-LABEL: func.func @batch_broadcast
// CHECK:         llvm.call @clusopt_ukernel_gemm_f32(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c4_i64, %c7_i64, %c5_i64, %c3_i64, %c21_i64, %c3_i64, %c1_i64, %c0_i64, %c5_i64, %c1_i64, %c35_i64, %c5_i64, %c0_i64, %c0_i64, %c0_i64)
func.func @batch_broadcast(%a: memref<4x7x3xf32>, %b: memref<3x5xf32>, %c: memref<4x7x5xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4x7x5xf32>)
  linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>]
    ins(%a, %b : memref<4x7x3xf32>, memref<3x5xf32>) outs(%c : memref<4x7x5xf32>)
  return
}

// -----

// Bias and the exact GELU applied in place (as bufferization leaves a
// projection's epilogue) fold into the call: GELU flag, bias pointer.
// CHECK-LABEL: func.func @bias_gelu
// CHECK-SAME:    (%{{.+}}: memref<50x30xf32>, %{{.+}}: memref<30x100xf32>, %[[BIAS:.+]]: memref<100xf32>)
// CHECK:         %[[ALLOC:.+]] = memref.alloc
// CHECK:         %[[BI:.+]] = memref.extract_aligned_pointer_as_index %[[BIAS]]
// CHECK:         %[[BL:.+]] = arith.index_cast %[[BI]]
// CHECK:         %[[BP:.+]] = llvm.inttoptr %[[BL]]
// CHECK:         llvm.call @clusopt_ukernel_gemm_f32(%{{.+}}, %{{.+}}, %{{.+}}, %[[BP]], %{{.+}}, {{.+}}, %c1_i64)
// CHECK-NOT:     linalg.
// CHECK:         return %[[ALLOC]]
func.func @bias_gelu(%a: memref<50x30xf32>, %b: memref<30x100xf32>, %bias: memref<100xf32>) -> memref<50x100xf32> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<50x100xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<50x100xf32>)
  linalg.matmul ins(%a, %b : memref<50x30xf32>, memref<30x100xf32>) outs(%c : memref<50x100xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<50x100xf32>, memref<100xf32>) outs(%c : memref<50x100xf32>) {
  ^bb0(%x: f32, %bv: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %rsqrt2 = arith.constant 0.707106769 : f32
    %one = arith.constant 1.0 : f32
    %s = arith.addf %x, %bv : f32
    %t = arith.mulf %s, %rsqrt2 : f32
    %e = math.erf %t : f32
    %p = arith.addf %e, %one : f32
    %h = arith.mulf %half, %s : f32
    %y = arith.mulf %h, %p : f32
    linalg.yield %y : f32
  }
  return %c : memref<50x100xf32>
}

// -----

// A residual add into a fresh buffer: the call writes that buffer and
// reads the residual, and the GEMM's own buffer disappears.
// CHECK-LABEL: func.func @residual
// CHECK-SAME:    (%{{.+}}: memref<50x30xf32>, %{{.+}}: memref<30x100xf32>, %[[R:.+]]: memref<50x100xf32>)
// CHECK:         %[[OUT:.+]] = memref.alloc() : memref<50x100xf32>
// CHECK-NOT:     memref.alloc
// CHECK:         %[[OI:.+]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK:         %[[OL:.+]] = arith.index_cast %[[OI]]
// CHECK:         %[[OP:.+]] = llvm.inttoptr %[[OL]]
// CHECK:         %[[RI:.+]] = memref.extract_aligned_pointer_as_index %[[R]]
// CHECK:         %[[RL:.+]] = arith.index_cast %[[RI]]
// CHECK:         %[[RP:.+]] = llvm.inttoptr %[[RL]]
// CHECK:         llvm.call @clusopt_ukernel_gemm_f32(%{{.+}}, %{{.+}}, %[[OP]], %{{.+}}, %[[RP]], {{.+}}, %c0_i64, %c100_i64, %c0_i64)
// CHECK-NOT:     linalg.
// CHECK:         return %[[OUT]]
func.func @residual(%a: memref<50x30xf32>, %b: memref<30x100xf32>, %r: memref<50x100xf32>) -> memref<50x100xf32> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<50x100xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<50x100xf32>)
  linalg.matmul ins(%a, %b : memref<50x30xf32>, memref<30x100xf32>) outs(%c : memref<50x100xf32>)
  %out = memref.alloc() : memref<50x100xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%r, %c : memref<50x100xf32>, memref<50x100xf32>) outs(%out : memref<50x100xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  memref.dealloc %c : memref<50x100xf32>
  return %out : memref<50x100xf32>
}

// -----

// A 1x1 stride-1 NHWC convolution is a batch (N) of [H·W, Cin] x [Cin, Cout]
// GEMMs: m = H·W = 12, rows at Cin, the filter's rows at Cout.
// CHECK-LABEL: func.func @conv1x1
// CHECK:         llvm.call @clusopt_ukernel_gemm_f32(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c2_i64, %c12_i64, %c8_i64, %c6_i64, %c72_i64, %c6_i64, %c1_i64, %c0_i64, %c8_i64, %c1_i64, %c96_i64, %c8_i64, %c0_i64, %c0_i64, %c0_i64)
// CHECK-NOT:     linalg.conv
func.func @conv1x1(%x: memref<2x3x4x6xf32>, %w: memref<1x1x6x8xf32>, %y: memref<2x3x4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<2x3x4x8xf32>)
  linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %w : memref<2x3x4x6xf32>, memref<1x1x6x8xf32>) outs(%y : memref<2x3x4x8xf32>)
  return
}

// -----

// An epilogue that is not bias/GELU/residual stays a generic after the
// call.
// CHECK-LABEL: func.func @other_epilogue
// CHECK:         llvm.call @clusopt_ukernel_gemm_f32
// CHECK:         linalg.generic
// CHECK:           arith.mulf
func.func @other_epilogue(%a: memref<50x30xf32>, %b: memref<30x100xf32>, %c: memref<50x100xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<50x100xf32>)
  linalg.matmul ins(%a, %b : memref<50x30xf32>, memref<30x100xf32>) outs(%c : memref<50x100xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      outs(%c : memref<50x100xf32>) {
  ^bb0(%o: f32):
    %s = arith.mulf %o, %o : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// What the micro-kernel does not take stays for the loops, with a remark;
// matmuls on tensors (before bufferization) are not its business.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:     llvm.call
// CHECK:         linalg.matmul {{.*}}memref<4x8xf16>
// CHECK:         linalg.matmul {{.*}}strided<[200, 2]>
// CHECK:         linalg.conv_2d_nhwc_hwcf
// CHECK:         linalg.matmul {{.*}}tensor<4x8xf32>
func.func @left_alone(%a: memref<4x3xf16>, %b: memref<3x8xf16>, %c: memref<4x8xf16>,
                      %af: memref<4x3xf32>, %bf: memref<3x8xf32>, %cs: memref<4x8xf32, strided<[200, 2]>>,
                      %x: memref<1x5x5x3xf32>, %w: memref<3x3x3x8xf32>, %y: memref<1x3x3x8xf32>,
                      %at: tensor<4x3xf32>, %bt: tensor<3x8xf32>, %ct: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-remark @below {{stays on loops, not a micro-kernel call: operands are not all f32 buffers}}
  linalg.matmul ins(%a, %b : memref<4x3xf16>, memref<3x8xf16>) outs(%c : memref<4x8xf16>)
  // expected-remark @below {{stays on loops, not a micro-kernel call: the result's columns are not its contiguous last axis}}
  linalg.matmul ins(%af, %bf : memref<4x3xf32>, memref<3x8xf32>) outs(%cs : memref<4x8xf32, strided<[200, 2]>>)
  // expected-remark @below {{stays on loops, not a micro-kernel call: not a 1x1 convolution}}
  linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %w : memref<1x5x5x3xf32>, memref<3x3x3x8xf32>) outs(%y : memref<1x3x3x8xf32>)
  %r = linalg.matmul ins(%at, %bt : tensor<4x3xf32>, tensor<3x8xf32>) outs(%ct : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// PTX ISA 8.0 allows 4352 bytes of kernel parameters. The compiler checks
// the limit itself (clus-gpu-check-kernel-params) and fails naming the op,
// the kernel, the bytes and the limit, where ptxas used to reject PTX that
// clusopt-compile had written with exit status 0. Every byte count agrees
// with ptxas: 21 pairs assemble, 22 are what ptxas reports as 0x1108 bytes.
//
// RUN: not clusopt-compile %S/Inputs/attention-22-pairs.mlir --target=sm_90 --emit=ptx -o %t.22.ptx 2>&1 | FileCheck %s
// RUN: not test -e %t.22.ptx
// RUN: not clusopt-opt %S/Inputs/attention-22-pairs.mlir --clus-gpu-to-nvvm='chip=sm_80 format=isa' -o %t.22.mlir 2>&1 | FileCheck %s
// RUN: clusopt-compile %S/Inputs/attention-21-pairs.mlir --target=sm_90 --emit=cubin -o %t.21.cubin
// RUN: llvm-readelf -h %t.21.cubin | FileCheck %s --check-prefix=CUBIN
//
// dpc_knn's k no longer multiplies the reference lowering's tensors (k
// slots were k kernel parameters: k = 100 was 5696 bytes): ptxas accepts it.
// RUN: clusopt-compile %s --target=sm_90 --emit=cubin -o %t.dpc.cubin
// RUN: llvm-readelf -h %t.dpc.cubin | FileCheck %s --check-prefix=CUBIN

// CHECK: attention-22-pairs.mlir:5:8: error: 'clus.attention': GPU kernel 'attn_kernel' needs 4360 bytes of kernel parameters (547 arguments), over the limit of 4352 bytes; use fewer or lower-rank operands, e.g. split the op
// CHECK-NOT: see current operation
// CUBIN: Machine: NVIDIA CUDA architecture

func.func @dpc_knn_k100(%x: tensor<1x64x16xf32>)
    -> (tensor<1x1x64xi32>, tensor<1x1x8xi32>) {
  %a_init = tensor.empty() : tensor<1x1x64xi32>
  %c_init = tensor.empty() : tensor<1x1x8xi32>
  %a, %c = clus.dpc_knn %x clusters = [8] k = 100 outs(%a_init, %c_init)
      : tensor<1x64x16xf32> -> tensor<1x1x64xi32>, tensor<1x1x8xi32>
  return %a, %c : tensor<1x1x64xi32>, tensor<1x1x8xi32>
}

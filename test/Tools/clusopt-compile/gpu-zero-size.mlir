// A 0-sized dimension leaves a GPU compilation with no kernel to launch
// (the reference lowering's loops fold away). The device binary is then a
// valid, empty one, and the manifest lists no launches; the error used to
// be "expected one device binary, got 0 (does the input have a clus op?)".
//
// RUN: clusopt-compile %s --target=sm_90 --emit=ptx -o %t.ptx
// RUN: FileCheck %s --input-file=%t.ptx
// RUN: FileCheck %s --input-file=%t.json --check-prefix=MANIFEST
// RUN: clusopt-compile %s --target=sm_80 --emit=cubin -o %t.cubin
// RUN: llvm-readelf -h %t.cubin | FileCheck %s --check-prefix=CUBIN
// RUN: clusopt-compile %s --target=sm_80 --emit=so -o %t.so
// RUN: llvm-nm -D %t.so | FileCheck %s --check-prefix=SO

// CHECK: .version 8.0
// CHECK-NEXT: .target sm_90
// CHECK-NOT: .entry
// MANIFEST-NOT: "launches"
// MANIFEST: "kernel": "gpu-loops",
// MANIFEST-NEXT: "op": "clus.broadcast"
// MANIFEST-NOT: "launches"
// MANIFEST: "format": "clusopt-kernels/1"
// CUBIN: Machine: NVIDIA CUDA architecture
// SO: T _mlir_ciface_no_tokens

func.func @no_tokens(%y: tensor<2x4x8xf32>, %a: tensor<2x0xi32>)
    -> tensor<2x0x8xf32> {
  %x_init = tensor.empty() : tensor<2x0x8xf32>
  %x = clus.broadcast %y, %a outs(%x_init)
      : tensor<2x4x8xf32>, tensor<2x0xi32> -> tensor<2x0x8xf32>
  return %x : tensor<2x0x8xf32>
}

// The pipelines are built with addPass; their printed form is what a crash
// reproducer and --dump-pass-pipeline show. Options reach their passes, and
// the order that matters holds: libm calls for math without an LLVM
// intrinsic come after the C-wrapper request (else `erff` gets a wrapper),
// strided memref.copy becomes linalg.copy before linalg becomes loops,
// expand_shapes with several dynamic sizes in a group are rewritten before
// expand-strided-metadata, which crashes on them, and the CPU pipeline
// unshares fills and empty tensors after its last CSE, right before
// bufferization (a CSE in between would share them again).

// RUN: clusopt-opt %s --clus-to-llvm --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=REF
// REF: convert-clus-to-linalg{keep-gpu-kernel-ops=false}
// REF: one-shot-bufferize{allow-return-allocs-from-loops=true allow-unknown-ops=false
// REF-SAME: bufferize-function-boundaries=true
// REF-SAME: function-boundary-type-conversion=identity-layout-map
// REF: clus-strided-copies-to-linalg
// REF: convert-linalg-to-loops
// REF: clus-expand-shape-sizes
// REF-NEXT: expand-strided-metadata
// REF: llvm-request-c-wrappers
// REF: convert-math-to-libm
// REF: convert-func-to-llvm

// RUN: clusopt-opt %s --clus-cpu-to-llvm="vector-width=16 rows=3 cols=64" --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s
// CHECK: clus-fold-projections
// CHECK: convert-clus-to-vector{cols=64 fuse-soft-assign=true rows=3 vector-width=16}
// CHECK: clus-linalg-cpu-tiling{vector-width=16}
// CHECK: convert-clus-to-linalg
// CHECK: cse
// CHECK-NEXT: clus-unshare-destinations
// CHECK-NEXT: one-shot-bufferize
// CHECK: clus-linalg-to-ukernel
// CHECK: clus-strided-copies-to-linalg
// CHECK: convert-linalg-to-loops
// CHECK: scf-forall-to-parallel
// CHECK: clus-outline-parallel-loops
// CHECK: convert-scf-to-openmp
// CHECK: clus-approximate-math
// CHECK: clus-expand-shape-sizes
// CHECK-NEXT: expand-strided-metadata
// CHECK: arith-expand{include-bf16=true
// CHECK: convert-math-to-libm
// CHECK: convert-ub-to-llvm
// CHECK: convert-openmp-to-llvm

// RUN: clusopt-opt %s --clus-gpu-to-nvvm="chip=sm_90 format=isa toolkit=/opt/cuda" --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPU
// GPU: convert-clus-to-linalg{keep-gpu-kernel-ops=true}
// GPU: clus-gpu-bufferize
// GPU: convert-clus-to-gpu
// GPU: clus-expand-shape-sizes
// GPU-NEXT: expand-strided-metadata
// GPU: nvvm-attach-target{O=3 chip=sm_90
// GPU-SAME: features=+ptx80
// GPU: clus-gpu-check-kernel-params{limit=4352}
// GPU: gpu-module-to-binary{format=isa
// GPU-SAME: toolkit=/opt/cuda}

module {}

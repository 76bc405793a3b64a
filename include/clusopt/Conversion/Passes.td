//===- Passes.td - clusopt conversion passes -------------------*- tablegen -*-===//

#ifndef CLUSOPT_CONVERSION_PASSES_TD
#define CLUSOPT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertClusToLinalg : Pass<"convert-clus-to-linalg"> {
  let summary = "Lower clus ops to plain linalg/tensor/scf/arith/math on tensors";
  let description = [{
    The reference lowering of every `clus` op. Each op becomes a short
    sequence of `linalg.generic` ops on tensors that reads like the formula of
    the op's definition: no tiling, no fusion, f32 accumulation whatever the
    storage type. It is the correctness baseline for every optimised pipeline.

    - Index operands (`assign`, `members`) are range-checked before every
      gather, so out-of-range indices never read or write out of bounds.
    - `dpc_knn` materialises the N×N distance matrix; the optimised
      lowering must not, this one may.
    - Work that is a scatter (`cluster_attention`'s scatter-mean) is an
      `scf.for` nest over tensors, which bufferizes in place.

    Works for static and dynamic shapes.

    With `keep-gpu-kernel-ops`, the ops `convert-clus-to-gpu` lowers
    (attention, pool with the soft_assign it fuses, cluster_attention) are
    left in place.
  }];
  let options = [
    Option<"keepGpuKernelOps", "keep-gpu-kernel-ops", "bool",
           /*default=*/"false",
           "Leave the ops that have hand-written GPU kernels">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ConvertClusToVector : Pass<"convert-clus-to-vector"> {
  let summary = "Tiled, fused, vectorised CPU kernels for clus ops";
  let description = [{
    The optimised CPU lowering. `pool` (fused with its `soft_assign` over
    tokens), `attention`, `soft_assign` and `dpc_knn` become loop nests over
    memrefs with 1-D vector ops of `vector-width` f32 lanes along the
    contiguous axis; their outer loops are `scf.parallel`, which the CPU
    pipeline maps to OpenMP threads. Other ops are left for
    `convert-clus-to-linalg`.

    - `pool`: one online-softmax pass over token tiles of `cols`, `rows`
      clusters at a time, the sums in registers while the tile is the
      only one; no [M, N] probability tensor goes to memory.
    - `attention`: flash-style, `rows` queries against cluster tiles of
      `cols` with a running max and sum, all scales in one kernel; no
      [N, M] score matrix goes to memory.
    - `dpc_knn`: distances are recomputed per tile with a running
      k-smallest (density) and a running min (δ); extra memory is O(N·C).

    Tile sizes come per op from its `clus.lowering_config`
    (`#clus.lowering_config<rows = R, cols = C>`, which `clus-lowering-config`
    attaches in the CPU pipeline); a size it leaves out comes from the
    options (`rows = 0`: each op's own, 8 for `pool` with 16 lanes, else
    4). `rows` must be in [1, 8]; `cols` a multiple of `vector-width` up to
    4096, or the op gets an error.

    Example: `--convert-clus-to-vector="vector-width=16 rows=4 cols=128"`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector: 4 (NEON/SSE), 8 (AVX2), 16 (AVX-512)">,
    Option<"rows", "rows", "int64_t", /*default=*/"0",
           "Rows of the parallel axis blocked in registers (1-8); 0: each op's own (pool 8 with 16 lanes, else 4)">,
    Option<"cols", "cols", "int64_t", /*default=*/"128",
           "Tile of the streamed axis; a multiple of vector-width">,
    Option<"fuseSoftAssign", "fuse-soft-assign", "bool", /*default=*/"true",
           "Fuse soft_assign(tokens) into the pool that consumes it">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def ConvertClusToGPU : Pass<"convert-clus-to-gpu"> {
  let summary = "NVIDIA GPU kernels for attention, pool and cluster_attention";
  let description = [{
    The GPU lowering's hand-written kernels, as `gpu.launch` ops over
    memrefs (outlining, NVVM and binary emission are upstream passes).

    - `attention` and `pool` (fused with the `soft_assign` over tokens that
      produces its weights, or plain): a flash-style kernel. A block of 4
      warps owns 64 query rows of one batch item; key and value tiles live
      in shared memory; each warp computes 16 x 32 score tiles with
      `nvvm.mma.sync` m16n8k16 (f16/bf16 storage, f32 accumulation) or with
      FMAs in the same fragment layout (f32); the online softmax combines
      the running max and sum of a row across its 4 lanes with warp
      shuffles; P stays in registers as the A fragment of P·V.
    - `cluster_attention`: cluster summaries, then one thread per (batch ·
      head, token, value column).

    Other ops are left for `convert-clus-to-linalg`, whose loops the GPU
    pipeline maps to blocks and threads.

    Example: `--convert-clus-to-gpu`.
  }];
  let options = [
    Option<"fuseSoftAssign", "fuse-soft-assign", "bool", /*default=*/"true",
           "Fuse soft_assign(tokens) into the pool that consumes it">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def ClusGpuBufferize : Pass<"clus-gpu-bufferize", "::mlir::ModuleOp"> {
  let summary = "One-shot bufferization that leaves the clus ops on tensors";
  let description = [{
    Upstream's one-shot bufferization across function boundaries (results
    are allocations with identity layouts, loops may yield fresh buffers),
    except for the ops of the `clus` dialect, which stay on tensors between
    `bufferization.to_tensor` and `bufferization.to_buffer` ops: the GPU
    pipeline emits their kernels afterwards (`convert-clus-to-gpu`), as
    buffer deallocation cannot see into kernels that free their own
    buffers. The clus ops implement `BufferizableOpInterface`, so plain
    `one-shot-bufferize` would turn them into their buffer form, which
    `convert-clus-to-gpu` does not lower.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def ClusGpuDeviceBuffers : Pass<"clus-gpu-device-buffers", "::mlir::ModuleOp"> {
  let summary = "Host code's buffers become device memory";
  let description = [{
    Runs on bufferized host code whose kernels are `gpu.launch` ops. Every
    buffer the host allocates for kernels becomes device memory:
    `memref.alloc` becomes `gpu.alloc`, `memref.dealloc` becomes
    `gpu.dealloc` and `memref.copy` becomes `gpu.memcpy`. Small buffers the
    host itself reads and writes (the deallocation bookkeeping of
    `buffer-deallocation-pipeline`) stay in host memory.

    The entry points' memref arguments are device pointers, so any other
    host read or write of a device buffer is an error that names the op,
    never a silent host access to device memory.

    Upstream has no such pass: `gpu-to-llvm` lowers `gpu.alloc` but nothing
    decides which host allocations are device buffers.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def ClusGpuTileParallelLoops : Pass<"clus-gpu-tile-parallel-loops"> {
  let summary = "Tile host scf.parallel loops into blocks of threads";
  let description = [{
    Tiles the innermost dimension of every outermost `scf.parallel` outside
    a GPU kernel by `threads` and the other dimensions by 1 (upstream's
    `tileParallelLoop` with no min/max bounds), so that
    `gpu-map-parallel-loops` maps the tiles to blocks and the points of a
    tile to threads. Upstream's `scf-parallel-loop-tiling` takes one size
    list for loops of every rank.

    Example: `--clus-gpu-tile-parallel-loops="threads=128"`.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"128",
           "Threads per block along the innermost dimension (1-1024)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def ClusGpuMergeModules : Pass<"clus-gpu-merge-modules", "::mlir::ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` creates one `gpu.module` per kernel. This pass
    moves all kernels into the first module and re-points every
    `gpu.launch_func`, so a compilation yields one PTX file, cubin or
    fatbin.
  }];
}

def ClusGpuCheckKernelParams
    : Pass<"clus-gpu-check-kernel-params", "::mlir::ModuleOp"> {
  let summary = "Reject GPU kernels whose parameters exceed the PTX limit";
  let description = [{
    Runs on NVVM kernels (`llvm.func` in a `gpu.module`, after
    `convert-gpu-to-nvvm`). Sums each kernel's parameter bytes as the PTX
    `.param` space lays them out (every memref is its descriptor's fields)
    and fails, naming the clus op, the kernel, the bytes and the limit,
    when the sum exceeds `limit`. ptxas would otherwise reject the PTX
    ("uses too much parameter space") after the compiler reported success.
    The default is the 4352-byte limit of PTX ISA 8.0, the ISA the GPU
    pipeline emits.

    Example: `--clus-gpu-check-kernel-params="limit=4352"`.
  }];
  let options = [
    Option<"limit", "limit", "int64_t", /*default=*/"4352",
           "Largest kernel parameter list in bytes">,
  ];
}

#endif // CLUSOPT_CONVERSION_PASSES_TD

//===- Passes.td - clusopt conversion passes -------------------*- tablegen -*-===//

#ifndef CLUSOPT_CONVERSION_PASSES_TD
#define CLUSOPT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertClusToLinalg : Pass<"convert-clus-to-linalg"> {
  let summary = "Lower clus ops to plain linalg/tensor/scf/arith/math on tensors";
  let description = [{
    The reference lowering of every `clus` op (SPEC §2). Each op becomes a
    short sequence of `linalg.generic` ops on tensors that reads like the
    SPEC formula: no tiling, no fusion, f32 accumulation whatever the storage
    type. It is the correctness baseline for every optimised pipeline.

    - Index operands (`assign`, `members`) are range-checked before every
      gather, so out-of-range indices never read or write out of bounds.
    - `dpc_knn` materialises the N×N distance matrix; the optimised
      lowering must not, this one may.
    - Work that is a scatter (`cluster_attention`'s scatter-mean) is an
      `scf.for` nest over tensors, which bufferizes in place.

    Works for static and dynamic shapes.
  }];
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
      clusters at a time; no [M, N] probability tensor goes to memory.
    - `attention`: flash-style, `rows` queries against cluster tiles of
      `cols` with a running max and sum, all scales in one kernel; no
      [N, M] score matrix goes to memory.
    - `dpc_knn`: distances are recomputed per tile with a running
      k-smallest (density) and a running min (δ); extra memory is O(N·C).

    Tile sizes come from the options or, per op, from a
    `clus.tile = {rows = R, cols = C}` dictionary attribute. `rows` must be
    in [1, 8]; `cols` a multiple of `vector-width` up to 4096.

    Example: `--convert-clus-to-vector="vector-width=16 rows=4 cols=128"`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector: 4 (NEON/SSE), 8 (AVX2), 16 (AVX-512)">,
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Rows of the parallel axis blocked in registers (1-8)">,
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

#endif // CLUSOPT_CONVERSION_PASSES_TD

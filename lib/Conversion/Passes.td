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

#endif // CLUSOPT_CONVERSION_PASSES_TD

//===- Pipelines.h - clusopt pass pipelines ---------------------*- C++ -*-===//

#ifndef CLUSOPT_PIPELINES_PIPELINES_H
#define CLUSOPT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace clusopt {

/// clus on tensors → reference linalg → one-shot bufferization → LLVM
/// dialect, with C-interface wrappers on every function.
void buildClusToLLVMPipeline(mlir::OpPassManager &pm);

/// Options of the optimised CPU pipeline (see convert-clus-to-vector).
struct CpuPipelineOptions
    : public mlir::PassPipelineOptions<CpuPipelineOptions> {
  Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector: 4 (NEON), 8 (AVX2), 16 "
                     "(AVX-512)"),
      llvm::cl::init(8)};
  Option<int64_t> rows{*this, "rows",
                       llvm::cl::desc("Default register-blocked rows (1-8)"),
                       llvm::cl::init(4)};
  Option<int64_t> cols{
      *this, "cols",
      llvm::cl::desc("Default streamed-axis tile, a multiple of vector-width"),
      llvm::cl::init(128)};
};

/// clus on tensors → tiled, vectorised kernels (reference lowering for ops
/// without one) → one-shot bufferization → OpenMP → LLVM dialect.
void buildClusCpuToLLVMPipeline(mlir::OpPassManager &pm,
                                const CpuPipelineOptions &options);

/// Registers the clusopt pipelines with the global pass registry, so that
/// `clusopt-opt --clus-to-llvm` works.
void registerPipelines();

} // namespace clusopt

#endif // CLUSOPT_PIPELINES_PIPELINES_H

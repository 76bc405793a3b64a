//===- Pipelines.h - clusopt pass pipelines ---------------------*- C++ -*-===//

#ifndef CLUSOPT_PIPELINES_PIPELINES_H
#define CLUSOPT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <optional>
#include <string>

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
  Option<int64_t> rows{
      *this, "rows",
      llvm::cl::desc("Default register-blocked rows (1-8); 0: each op's own "
                     "(pool 8 with 16 lanes, else 4)"),
      llvm::cl::init(0)};
  Option<int64_t> cols{
      *this, "cols",
      llvm::cl::desc("Default streamed-axis tile, a multiple of vector-width"),
      llvm::cl::init(128)};
};

/// What is wrong with the options (vector width, default tile), e.g.
/// "vector-width must be 4, 8 or 16 f32 lanes, got 5"; nothing when valid.
std::optional<std::string>
cpuPipelineOptionsProblem(const CpuPipelineOptions &options);

/// clus on tensors → tiled, vectorised kernels (reference lowering for ops
/// without one) → one-shot bufferization → OpenMP → LLVM dialect.
void buildClusCpuToLLVMPipeline(mlir::OpPassManager &pm,
                                const CpuPipelineOptions &options);

/// Options of the NVIDIA GPU pipeline.
struct GpuPipelineOptions
    : public mlir::PassPipelineOptions<GpuPipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("GPU architecture: sm_80 or sm_90 "
                                          "(also sm_86, sm_89)"),
                           llvm::cl::init("sm_80")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Device binary embedded in the host code: isa (PTX), "
                     "bin (cubin, through ptxas) or fatbin"),
      llvm::cl::init("fatbin")};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit (ptxas, libdevice); default $CUDA_HOME, "
                     "$CUDA_ROOT, $CUDA_PATH or /usr/local/cuda"),
      llvm::cl::init("")};
};

/// The GPU architectures the GPU pipeline accepts.
bool isSupportedGpuChip(llvm::StringRef chip);

/// What is wrong with the options (chip, format); nothing when valid.
std::optional<std::string>
gpuPipelineOptionsProblem(const GpuPipelineOptions &options);

/// clus on tensors → GPU kernels (convert-clus-to-gpu; the reference
/// lowering's loops mapped to blocks and threads for the other ops) →
/// device buffers → outlined kernels in one gpu.module. The result still
/// has gpu.launch_func ops, so their launch configuration can be read.
void buildClusGpuKernelsPipeline(mlir::OpPassManager &pm);

/// The kernels pipeline, then upstream's gpu-lower-to-nvvm-pipeline: NVVM,
/// gpu-module-to-binary (PTX, or ptxas for cubin/fatbin) and host code
/// calling the mgpu* runtime ABI, with C-interface wrappers.
void buildClusGpuToNVVMPipeline(mlir::OpPassManager &pm,
                                const GpuPipelineOptions &options);

/// Only the binary-emitting half of buildClusGpuToNVVMPipeline, for input
/// that went through buildClusGpuKernelsPipeline.
void buildGpuBinaryPipeline(mlir::OpPassManager &pm,
                            const GpuPipelineOptions &options);

/// Registers the clusopt pipelines with the global pass registry, so that
/// `clusopt-opt --clus-to-llvm` works.
void registerPipelines();

} // namespace clusopt

#endif // CLUSOPT_PIPELINES_PIPELINES_H

//===- Pipelines.cpp - clusopt pass pipelines -------------------*- C++ -*-===//

#include "lib/Pipelines/Pipelines.h"

#include "lib/Conversion/ClusToVector/ClusToVector.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdlib>

using namespace mlir;

// The reference pipeline, written as a textual pipeline so that it reads the
// same here, in `--help` and in a crash reproducer. Every stage after the
// first is upstream MLIR.
static constexpr const char *kClusToLLVM =
    // clus → linalg/tensor/scf on tensors.
    "convert-clus-to-linalg,canonicalize,cse,"
    // Tensors → buffers; function results become returned allocations
    // owned by the caller; loops may yield fresh buffers (kmeans carries
    // its assignment across iterations).
    "one-shot-bufferize{bufferize-function-boundaries "
    "allow-return-allocs-from-loops "
    "function-boundary-type-conversion=identity-layout-map},"
    "buffer-deallocation-pipeline,convert-bufferization-to-memref,"
    // Buffers → loops → LLVM.
    "func.func(convert-linalg-to-loops),lower-affine,convert-scf-to-cf,"
    "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
    // bf16 has no native conversions on most CPUs: expand them to integer
    // ops so no libcall is needed.
    "arith-expand{include-bf16=true},convert-math-to-llvm,"
    "convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,"
    "func.func(llvm-request-c-wrappers),convert-func-to-llvm,"
    "reconcile-unrealized-casts";

// The optimised CPU pipeline. Options are spliced into the first stage; the
// rest is upstream MLIR apart from clus-approximate-math.
static constexpr const char *kClusCpuToLLVM =
    // Kernels for the ops that have one, the reference lowering for the
    // rest, then the same bufferization as the reference pipeline.
    "clus-fold-projections,"
    "convert-clus-to-vector{{vector-width={0} rows={1} cols={2}},"
    "convert-clus-to-linalg,canonicalize,cse,"
    "one-shot-bufferize{{bufferize-function-boundaries "
    "allow-return-allocs-from-loops "
    "function-boundary-type-conversion=identity-layout-map},"
    "buffer-deallocation-pipeline,convert-bufferization-to-memref,"
    // f32 GEMMs (and their bias/GELU/residual epilogues) on buffers become
    // calls of the runtime's micro-kernel; other linalg ops become loops.
    "clus-linalg-to-ukernel,"
    "func.func(convert-linalg-to-loops),func.func(llvm-request-c-wrappers),"
    // Outer scf.parallel loops become OpenMP worksharing loops.
    "convert-scf-to-openmp,clus-approximate-math,canonicalize,"
    // memref.alloca_scope (per-iteration scratch) must be lowered while its
    // body is still one block, so memref/vector go to LLVM before scf.
    "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
    "convert-vector-to-llvm,convert-scf-to-cf,"
    "arith-expand{{include-bf16=true},convert-math-to-llvm,"
    "convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,"
    // convert-openmp-to-llvm also converts func.func, hence the early
    // request for C wrappers.
    "convert-openmp-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts";

// The GPU pipeline's first half: kernels, buffers, launches. Hand-written
// kernels for attention, pool and cluster_attention; the reference
// lowering's loops for the rest, tiled and mapped to blocks and threads by
// upstream passes. Host allocations become device memory.
static constexpr const char *kClusGpuKernels =
    // Ops without a hand-written kernel → linalg; then bufferization, with
    // the others left as tensor ops (buffer deallocation cannot see into
    // kernels, so they are emitted after it and free their own buffers).
    "clus-fold-projections,"
    "convert-clus-to-linalg{keep-gpu-kernel-ops},canonicalize,cse,"
    "one-shot-bufferize{allow-unknown-ops bufferize-function-boundaries "
    "allow-return-allocs-from-loops "
    "function-boundary-type-conversion=identity-layout-map},"
    "buffer-deallocation-pipeline,"
    "convert-clus-to-gpu,canonicalize,convert-bufferization-to-memref,"
    // linalg → loops → blocks and threads.
    "func.func(convert-linalg-to-parallel-loops),"
    "clus-gpu-tile-parallel-loops,"
    "func.func(gpu-map-parallel-loops,convert-parallel-loops-to-gpu),"
    "clus-gpu-device-buffers,canonicalize,cse,"
    "func.func(llvm-request-c-wrappers),"
    "gpu-kernel-outlining,clus-gpu-merge-modules,func.func(gpu-async-region)";

// The second half is upstream's gpu-lower-to-nvvm-pipeline, spelled out so
// that gpu-module-to-binary gets the CUDA toolkit path: it links libdevice
// (math functions) from there and runs its ptxas, whatever the
// environment. PTX 8.0 is the oldest ISA that covers sm_90; LLVM's default
// (6.0) rejects it.
static constexpr const char *kGpuBinary =
    "convert-nvgpu-to-nvvm,gpu-kernel-outlining,convert-vector-to-scf,"
    "convert-scf-to-cf,convert-nvvm-to-llvm,convert-func-to-llvm,"
    "expand-strided-metadata,"
    "nvvm-attach-target{{chip={0} features=+ptx80 O=3},"
    "lower-affine,convert-arith-to-llvm,convert-index-to-llvm,canonicalize,"
    "cse,gpu.module(convert-gpu-to-nvvm,canonicalize,cse,"
    "reconcile-unrealized-casts),"
    // PTX 8.0's 4352 bytes of kernel parameters, checked here rather than
    // by ptxas after the compiler has reported success.
    "clus-gpu-check-kernel-params{{limit=4352},"
    "gpu-to-llvm,gpu-module-to-binary{{format={1} toolkit={2}},"
    "convert-math-to-llvm,canonicalize,cse,reconcile-unrealized-casts";

/// The CUDA toolkit: the option, else $CUDA_HOME, $CUDA_ROOT or
/// $CUDA_PATH, else /usr/local/cuda.
static std::string cudaToolkit(StringRef option) {
  if (!option.empty())
    return option.str();
  for (const char *var : {"CUDA_HOME", "CUDA_ROOT", "CUDA_PATH"})
    if (const char *value = std::getenv(var); value && *value)
      return value;
  return "/usr/local/cuda";
}

bool clusopt::isSupportedGpuChip(StringRef chip) {
  return llvm::is_contained({"sm_80", "sm_86", "sm_89", "sm_90"}, chip);
}

void clusopt::buildClusGpuKernelsPipeline(OpPassManager &pm) {
  if (failed(parsePassPipeline(kClusGpuKernels, pm)))
    llvm::report_fatal_error(
        "clusopt: malformed built-in clus-gpu-kernels pipeline");
}

void clusopt::buildGpuBinaryPipeline(OpPassManager &pm,
                                     const GpuPipelineOptions &options) {
  std::string text =
      llvm::formatv(kGpuBinary, options.chip.getValue(),
                    options.format.getValue(), cudaToolkit(options.toolkit));
  if (failed(parsePassPipeline(text, pm)))
    llvm::report_fatal_error("clusopt: malformed built-in GPU pipeline");
}

void clusopt::buildClusGpuToNVVMPipeline(OpPassManager &pm,
                                         const GpuPipelineOptions &options) {
  buildClusGpuKernelsPipeline(pm);
  buildGpuBinaryPipeline(pm, options);
}

void clusopt::buildClusCpuToLLVMPipeline(OpPassManager &pm,
                                         const CpuPipelineOptions &options) {
  std::string text =
      llvm::formatv(kClusCpuToLLVM, options.vectorWidth.getValue(),
                    options.rows.getValue(), options.cols.getValue());
  if (failed(parsePassPipeline(text, pm)))
    llvm::report_fatal_error(
        "clusopt: malformed built-in clus-cpu-to-llvm pipeline");
}

void clusopt::buildClusToLLVMPipeline(OpPassManager &pm) {
  // The pipeline text is a constant tested by lit; failing to parse it is a
  // programming error.
  if (failed(parsePassPipeline(kClusToLLVM, pm)))
    llvm::report_fatal_error(
        "clusopt: malformed built-in clus-to-llvm pipeline");
}

/// Registers a pipeline whose options are checked before it is built.
/// Upstream's PassPipelineRegistration takes a builder that returns void,
/// so a builder's failure would be dropped and the tool would run nothing
/// and exit 0; here an invalid option fails the pipeline's parse.
template <typename Options>
static void registerCheckedPipeline(
    StringRef arg, StringRef description,
    std::function<std::optional<std::string>(const Options &)> problem,
    std::function<void(OpPassManager &, const Options &)> builder) {
  registerPassPipeline(
      arg, description,
      [=](OpPassManager &pm, StringRef optionsText,
          function_ref<LogicalResult(const Twine &)> errorHandler) {
        Options options;
        if (failed(options.parseFromString(optionsText)))
          return failure();
        if (std::optional<std::string> text = problem(options))
          return errorHandler(arg + ": " + *text);
        builder(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(Options());
      });
}

std::optional<std::string>
clusopt::cpuPipelineOptionsProblem(const CpuPipelineOptions &options) {
  int64_t width = options.vectorWidth;
  if (width != 4 && width != 8 && width != 16)
    return llvm::formatv("vector-width must be 4, 8 or 16 f32 lanes, got {0}",
                         width)
        .str();
  return tileProblem(TileConfig{options.rows, options.cols}, width);
}

std::optional<std::string>
clusopt::gpuPipelineOptionsProblem(const GpuPipelineOptions &options) {
  if (!isSupportedGpuChip(options.chip))
    return llvm::formatv("unsupported chip '{0}'; expected sm_80, sm_86, "
                         "sm_89 or sm_90",
                         options.chip.getValue())
        .str();
  if (!llvm::is_contained({"isa", "bin", "fatbin"}, StringRef(options.format)))
    return llvm::formatv("format must be isa, bin or fatbin, got '{0}'",
                         options.format.getValue())
        .str();
  return std::nullopt;
}

void clusopt::registerPipelines() {
  PassPipelineRegistration<>(
      "clus-to-llvm",
      "Reference lowering: clus ops on tensors to the LLVM dialect (linalg, "
      "one-shot bufferization, loops), with C-interface wrappers on every "
      "function",
      buildClusToLLVMPipeline);
  registerCheckedPipeline<CpuPipelineOptions>(
      "clus-cpu-to-llvm",
      "Optimised CPU lowering: tiled, fused, vectorised clus kernels "
      "(convert-clus-to-vector), multi-threaded through OpenMP, to the LLVM "
      "dialect with C-interface wrappers on every function",
      cpuPipelineOptionsProblem, buildClusCpuToLLVMPipeline);
  PassPipelineRegistration<>(
      "clus-gpu-kernels",
      "GPU lowering, first half: clus ops on tensors to outlined NVIDIA "
      "kernels (gpu.module) and host code that launches them on device "
      "buffers",
      buildClusGpuKernelsPipeline);
  registerCheckedPipeline<GpuPipelineOptions>(
      "clus-gpu-to-nvvm",
      "GPU lowering: clus ops on tensors to host code in the LLVM dialect "
      "that launches NVVM kernels embedded as PTX, cubin or fatbin (through "
      "the mgpu* runtime ABI), with C-interface wrappers on every function",
      gpuPipelineOptionsProblem, buildClusGpuToNVVMPipeline);
}

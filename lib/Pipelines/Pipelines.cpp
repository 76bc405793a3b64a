//===- Pipelines.cpp - clusopt pass pipelines -------------------*- C++ -*-===//
//
// The pipelines are built with addPass and typed pass options, so a wrong
// pass name or option is a compile error, not a run-time parse failure.
// `clusopt-opt --<pipeline> --dump-pass-pipeline` prints them as text.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Pipelines/Pipelines.h"

#include "clusopt/Conversion/ClusToVector.h"
#include "clusopt/Conversion/Passes.h"
#include "clusopt/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/RequestCWrappers.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdlib>

using namespace mlir;

/// One-shot bufferization as every clusopt pipeline runs it: across function
/// boundaries (results become allocations the caller owns, with identity
/// layouts, as the C interface expects), and loops may yield fresh buffers
/// (kmeans carries its assignment across iterations).
static void addBufferization(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions options;
  options.bufferizeFunctionBoundaries = true;
  options.allowReturnAllocsFromLoops = true;
  options.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(options));
  bufferization::buildBufferDeallocationPipeline(pm);
}

/// arith and math to LLVM. bf16 has no native conversions on most CPUs:
/// arith-expand turns them into integer ops so no libcall is needed.
static void addArithAndMathToLLVM(OpPassManager &pm) {
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createConvertMathToLLVMPass());
}

void clusopt::buildClusToLLVMPipeline(OpPassManager &pm) {
  // clus → linalg/tensor/scf on tensors; every stage after it is upstream.
  pm.addPass(createConvertClusToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  addBufferization(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Buffers → loops → LLVM; copies into strided views (a tensor.pad's
  // interior) become loops too, not calls of MLIR's runtime memrefCopy.
  pm.addPass(createStridedCopiesToLinalg());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createExpandShapeSizes());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  addArithAndMathToLLVM(pm);
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());
  // What LLVM has no intrinsic for (math.erf of GELU) calls libm; after the
  // C-wrapper request, which must not reach libm's declarations.
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void clusopt::buildClusCpuToLLVMPipeline(OpPassManager &pm,
                                         const CpuPipelineOptions &options) {
  // Kernels for the clus ops, the reference lowering for anything left,
  // then the same bufferization as the reference pipeline.
  pm.addPass(createFoldProjections());
  // Every op's tile, as its clus.lowering_config, from one place.
  LoweringConfigOptions config;
  config.vectorWidth = options.vectorWidth;
  config.rows = options.rows;
  config.cols = options.cols;
  pm.addPass(createLoweringConfig(config));
  ConvertClusToVectorOptions kernels;
  kernels.vectorWidth = options.vectorWidth;
  kernels.rows = options.rows;
  kernels.cols = options.cols;
  pm.addPass(createConvertClusToVector(kernels));
  // The linalg around them: row blocks in parallel, vectors inside.
  LinalgCpuTilingOptions linalgTiling;
  linalgTiling.vectorWidth = options.vectorWidth;
  pm.addNestedPass<func::FuncOp>(createLinalgCpuTiling(linalgTiling));
  pm.addPass(createConvertClusToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // CSE shared the GEMMs' zero fills and destinations: one each again, so
  // that bufferization neither copies them nor lets ops take turns with one
  // buffer (which hides a fill or an epilogue from the micro-kernel call).
  pm.addPass(createUnshareDestinations());
  addBufferization(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // f32 GEMMs (and their bias/GELU/residual epilogues) on buffers become
  // calls of the runtime's micro-kernel; other linalg ops become loops.
  pm.addPass(createLinalgToUKernel());
  pm.addPass(createStridedCopiesToLinalg());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // convert-openmp-to-llvm also converts func.func, hence the early request
  // for C wrappers.
  pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());
  // Outer scf.parallel loops (the row blocks' scf.forall among them) become
  // OpenMP worksharing loops.
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  // One outermost parallel loop per function keeps OpenMP's translation to
  // LLVM IR linear in the size of a whole model.
  pm.addPass(createOutlineParallelLoops());
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createApproximateMath());
  pm.addPass(createCanonicalizerPass());
  // 1-D transfers along a strided axis (a depthwise filter read across
  // channels) have no LLVM lowering: loops of scalar loads.
  pm.addPass(createConvertVectorToSCFPass());
  // memref.alloca_scope (per-iteration scratch) must be lowered while its
  // body is still one block, so memref/vector go to LLVM before scf.
  pm.addPass(createExpandShapeSizes());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createSCFToControlFlowPass());
  addArithAndMathToLLVM(pm);
  // What is neither approximated nor an LLVM intrinsic (f64 erf) calls libm.
  pm.addPass(createConvertMathToLibmPass());
  // Masked vector reads pad with ub.poison.
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void clusopt::buildClusGpuKernelsPipeline(OpPassManager &pm) {
  // Ops without a hand-written kernel (attention, pool and
  // cluster_attention have one) → linalg; then bufferization, with the
  // others left as tensor ops (buffer deallocation cannot see into kernels,
  // so they are emitted after it and free their own buffers).
  pm.addPass(createFoldProjections());
  ConvertClusToLinalgOptions reference;
  reference.keepGpuKernelOps = true;
  pm.addPass(createConvertClusToLinalg(reference));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // The kept clus ops stay on tensors: their kernels come after.
  pm.addPass(createClusGpuBufferize());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertClusToGPU());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createConvertBufferizationToMemRefPass());
  // linalg → loops → blocks and threads. Host allocations become device
  // memory.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createClusGpuTileParallelLoops());
  OpPassManager &mapping = pm.nest<func::FuncOp>();
  mapping.addPass(createGpuMapParallelLoopsPass());
  mapping.addPass(createConvertParallelLoopToGpuPass());
  pm.addPass(createClusGpuDeviceBuffers());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createClusGpuMergeModules());
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
}

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

void clusopt::buildGpuBinaryPipeline(OpPassManager &pm,
                                     const GpuPipelineOptions &options) {
  // Upstream's gpu-lower-to-nvvm-pipeline, spelled out so that
  // gpu-module-to-binary gets the CUDA toolkit path: it links libdevice
  // (math functions) from there and runs its ptxas, whatever the
  // environment.
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createExpandShapeSizes());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  // PTX 8.0 is the oldest ISA that covers sm_90; LLVM's default (6.0)
  // rejects it.
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  device.addPass(createConvertGpuOpsToNVVMOps());
  device.addPass(createCanonicalizerPass());
  device.addPass(createCSEPass());
  device.addPass(createReconcileUnrealizedCastsPass());
  // PTX 8.0's 4352 bytes of kernel parameters, checked here rather than by
  // ptxas after the compiler has reported success.
  ClusGpuCheckKernelParamsOptions params;
  params.limit = 4352;
  pm.addPass(createClusGpuCheckKernelParams(params));
  pm.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = cudaToolkit(options.toolkit);
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void clusopt::buildClusGpuToNVVMPipeline(OpPassManager &pm,
                                         const GpuPipelineOptions &options) {
  buildClusGpuKernelsPipeline(pm);
  buildGpuBinaryPipeline(pm, options);
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
  return defaultTileProblem(TileConfig{options.rows, options.cols}, width);
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

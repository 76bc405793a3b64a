//===- clusopt-ir-fuzzer.cpp - libFuzzer target for the compiler ----------===//
//
// Parses the input as MLIR with the dialects a clus program uses (builtin,
// func, arith, math, tensor, clus), verifies it and compiles every module
// that verifies the way the tools do:
//   ref    --clus-to-llvm, translated to LLVM IR;
//   cpu8   --clus-cpu-to-llvm{vector-width=8}, x86-64-v3 object at -O3;
//   cpu16  --clus-cpu-to-llvm{vector-width=16}, x86-64-v4 object at -O3;
//   gpu    --clus-gpu-to-nvvm{chip=sm_80 format=isa}, PTX (no ptxas).
// Diagnostics are expected and dropped; a crash, an assertion, a sanitizer
// report, a timeout (-timeout) or a blow-up (-rss_limit_mb) is a finding.
//
// Environment: CLUSOPT_FUZZ_STAGES=ref,cpu8,cpu16,gpu picks the stages (all
// by default); CLUSOPT_FUZZ_VERBOSE=1 prints the diagnostics and each stage
// as it starts, to see which stage a reproducer breaks.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"
#include "clusopt/Dialect/Clus/ClusDialect.h"
#include "clusopt/Pipelines/Pipelines.h"
#include "clusopt/Transforms/Passes.h"
#include "clusopt/Tuning/CpuTarget.h"
#include "tools/clusopt-compile/Codegen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <cstdlib>
#include <functional>

using namespace mlir;

namespace {

struct Stages {
  bool ref = true, cpu8 = true, cpu16 = true, gpu = true;
};

struct FuzzerState {
  Stages stages;
  bool verbose = false;
  /// The dialects inputs may use; parsing with only these keeps upstream
  /// dialects' parsers and verifiers out of the campaign.
  DialectRegistry inputDialects;
  /// What the pipelines load as they go (clusopt-compile's registry).
  DialectRegistry compilerDialects;
  clusopt::CpuTarget avx2, avx512;
};

FuzzerState *state = nullptr;

void log(const llvm::Twine &message) {
  if (state->verbose)
    llvm::errs() << "clusopt-ir-fuzzer: " << message << "\n";
}

/// Runs the pipeline `build` fills on a copy of `module`; null when it fails.
OwningOpRef<ModuleOp> lower(ModuleOp module, const llvm::Twine &stage,
                            llvm::function_ref<void(OpPassManager &)> build) {
  log("stage " + stage);
  OwningOpRef<ModuleOp> copy = module.clone();
  PassManager pm(module.getContext());
  build(pm);
  if (failed(pm.run(*copy))) {
    log("stage " + stage + " failed");
    return nullptr;
  }
  return copy;
}

/// LLVM IR at -O3 and an object file in memory, as clusopt-compile --emit=obj
/// makes them.
void emitObject(ModuleOp module, const clusopt::CpuTarget &target) {
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      clusopt::createTargetMachine(target);
  if (!machine) {
    // Every x86-64 level has a backend; this is a broken build.
    llvm::errs() << llvm::toString(machine.takeError()) << "\n";
    abort();
  }
  llvm::LLVMContext llvmContext;
  llvm::Expected<std::unique_ptr<llvm::Module>> llvmModule =
      clusopt::translateToOptimizedLLVM(module, **machine, 3, llvmContext);
  if (!llvmModule) {
    log(llvm::toString(llvmModule.takeError()));
    return;
  }
  llvm::SmallString<0> object;
  llvm::raw_svector_ostream os(object);
  if (llvm::Error err = clusopt::emitMachineCode(
          **llvmModule, **machine, os, llvm::CodeGenFileType::ObjectFile))
    log(llvm::toString(std::move(err)));
}

void compile(ModuleOp module) {
  if (state->stages.ref) {
    if (OwningOpRef<ModuleOp> lowered =
            lower(module, "ref", clusopt::buildClusToLLVMPipeline)) {
      llvm::LLVMContext llvmContext;
      if (!translateModuleToLLVMIR(*lowered, llvmContext))
        log("ref: translation to LLVM IR failed");
    }
  }
  for (auto [enabled, width, target] :
       {std::tuple{state->stages.cpu8, 8, &state->avx2},
        std::tuple{state->stages.cpu16, 16, &state->avx512}}) {
    if (!enabled)
      continue;
    clusopt::CpuPipelineOptions options;
    options.vectorWidth = width;
    if (OwningOpRef<ModuleOp> lowered =
            lower(module, "cpu" + llvm::Twine(width), [&](OpPassManager &pm) {
              clusopt::buildClusCpuToLLVMPipeline(pm, options);
            }))
      emitObject(*lowered, *target);
  }
  if (state->stages.gpu) {
    clusopt::GpuPipelineOptions options;
    options.chip = "sm_80";
    options.format = "isa";
    (void)lower(module, "gpu", [&](OpPassManager &pm) {
      clusopt::buildClusGpuToNVVMPipeline(pm, options);
    });
  }
}

Stages parseStages(const char *text) {
  if (!text)
    return Stages{};
  Stages stages{false, false, false, false};
  llvm::SmallVector<llvm::StringRef> names;
  llvm::StringRef(text).split(names, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef name : names) {
    bool *flag = llvm::StringSwitch<bool *>(name.trim())
                     .Case("ref", &stages.ref)
                     .Case("cpu8", &stages.cpu8)
                     .Case("cpu16", &stages.cpu16)
                     .Case("gpu", &stages.gpu)
                     .Default(nullptr);
    if (!flag) {
      llvm::errs() << "clusopt-ir-fuzzer: CLUSOPT_FUZZ_STAGES: unknown stage '"
                   << name << "' (ref, cpu8, cpu16, gpu)\n";
      exit(2);
    }
    *flag = true;
  }
  return stages;
}

clusopt::CpuTarget resolve(llvm::StringRef name) {
  llvm::Expected<clusopt::CpuTarget> target = clusopt::resolveCpuTarget(name);
  if (!target) {
    llvm::errs() << llvm::toString(target.takeError()) << "\n";
    exit(2);
  }
  return *target;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
  clusopt::initializeCompiler();

  state = new FuzzerState;
  state->stages = parseStages(getenv("CLUSOPT_FUZZ_STAGES"));
  const char *verbose = getenv("CLUSOPT_FUZZ_VERBOSE");
  state->verbose = verbose && llvm::StringRef(verbose) != "0";
  state->inputDialects
      .insert<arith::ArithDialect, clusopt::clus::ClusDialect,
              func::FuncDialect, math::MathDialect, tensor::TensorDialect>();
  clusopt::registerCompilerDialects(state->compilerDialects);
  state->avx2 = resolve("x86-64-v3");
  state->avx512 = resolve("x86-64-v4");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A fresh context per input: nothing carries over between inputs.
  MLIRContext context(state->inputDialects, MLIRContext::Threading::DISABLED);
  ScopedDiagnosticHandler diagnostics(&context, [](Diagnostic &diag) {
    if (state->verbose)
      llvm::errs() << diag.getLocation() << ": " << diag << "\n";
    return success();
  });
  // The MLIR lexer needs a terminating NUL, so the input is copied.
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          "fuzz-input"),
      llvm::SMLoc());
  // Parsing verifies.
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return 0;
  context.appendDialectRegistry(state->compilerDialects);
  clusopt::markArgumentsReadOnly(*module);
  compile(*module);
  return 0;
}

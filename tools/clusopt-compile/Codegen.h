//===- Codegen.h - the steps clusopt-compile takes after MLIR ---*- C++ -*-===//
//
// The dialect registry clusopt-compile parses with, and the steps from the
// LLVM dialect to machine code: target machine, translation to LLVM IR, the
// LLVM optimisation pipeline and code generation. clusopt-compile and the IR
// fuzzer (tools/fuzz) share them, so the fuzzer compiles exactly as the tool
// does. The library lives beside the tool because the tuning key's
// compiler version hashes tools/clusopt-compile/*.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_TOOLS_CLUSOPT_COMPILE_CODEGEN_H
#define CLUSOPT_TOOLS_CLUSOPT_COMPILE_CODEGEN_H

#include "clusopt/Tuning/CpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"

#include "llvm/Support/CodeGen.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
class raw_pwrite_stream;
} // namespace llvm

namespace clusopt {

/// What a compiler process needs before it parses a pipeline: every LLVM
/// target (code generation and assembly), and every upstream and clusopt
/// pass, since pipelines are textual.
void initializeCompiler();

/// Every upstream dialect, extension and LLVM IR translation (the pipelines
/// load what they need from it), plus clus.
void registerCompilerDialects(mlir::DialectRegistry &registry);

/// Callers own the tensors they pass in. One-shot bufferization treats
/// function arguments as writable unless told otherwise, and would then let
/// an op write its result into an input buffer.
void markArgumentsReadOnly(mlir::ModuleOp module);

/// The LLVM target machine for `target`, at -O3 with PIC.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const CpuTarget &target);

/// The LLVM IR of `module` (LLVM dialect) for `machine`, optimised at
/// `optLevel`.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToOptimizedLLVM(mlir::ModuleOp module, llvm::TargetMachine &machine,
                         unsigned optLevel, llvm::LLVMContext &context);

/// Writes `llvmModule` as assembly or an object file to `os`.
llvm::Error emitMachineCode(llvm::Module &llvmModule,
                            llvm::TargetMachine &machine,
                            llvm::raw_pwrite_stream &os,
                            llvm::CodeGenFileType type);

} // namespace clusopt

#endif // CLUSOPT_TOOLS_CLUSOPT_COMPILE_CODEGEN_H

//===- Codegen.cpp - the steps clusopt-compile takes after MLIR -----------===//

#include "tools/clusopt-compile/Codegen.h"

#include "clusopt/Conversion/Passes.h"
#include "clusopt/Dialect/Clus/ClusDialect.h"
#include "clusopt/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

namespace clusopt {

void initializeCompiler() {
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  registerAllPasses();
  registerConversionPasses();
  registerTransformsPasses();
}

void registerCompilerDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<clus::ClusDialect>();
}

void markArgumentsReadOnly(ModuleOp module) {
  module->walk([&](func::FuncOp func) {
    if (func.isExternal())
      return;
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      if (isa<TensorType>(func.getArgument(i).getType()) &&
          !func.getArgAttr(i, "bufferization.writable"))
        func.setArgAttr(i, "bufferization.writable",
                        BoolAttr::get(module.getContext(), false));
  });
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const CpuTarget &t) {
  std::string error;
  llvm::Triple triple(t.triple);
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError("no LLVM backend for " + t.triple + ": " +
                                   error);
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, t.cpu, t.features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return llvm::createStringError("no LLVM target machine for " + t.triple +
                                   " (" + t.cpu + ")");
  return machine;
}

llvm::Expected<std::unique_ptr<llvm::Module>>
translateToOptimizedLLVM(ModuleOp module, llvm::TargetMachine &machine,
                         unsigned optLevel, llvm::LLVMContext &context) {
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context);
  if (!llvmModule)
    return llvm::createStringError("translation to LLVM IR failed");
  llvmModule->setTargetTriple(machine.getTargetTriple());
  llvmModule->setDataLayout(machine.createDataLayout());
  if (llvm::Error err =
          makeOptimizingTransformer(optLevel, 0, &machine)(llvmModule.get()))
    return llvm::createStringError("LLVM optimisation failed: " +
                                   llvm::toString(std::move(err)));
  return llvmModule;
}

llvm::Error emitMachineCode(llvm::Module &llvmModule,
                            llvm::TargetMachine &machine,
                            llvm::raw_pwrite_stream &os,
                            llvm::CodeGenFileType type) {
  llvm::legacy::PassManager codegen;
  if (machine.addPassesToEmitFile(codegen, os, nullptr, type))
    return llvm::createStringError(machine.getTargetTriple().str() +
                                   " cannot emit this file type");
  codegen.run(llvmModule);
  return llvm::Error::success();
}

} // namespace clusopt

//===- clusopt-opt.cpp - mlir-opt with the clus dialect ---------*- C++ -*-===//
//
// mlir-opt with the `clus` dialect, every upstream dialect and pass, and the
// clusopt passes and pipelines registered.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"
#include "clusopt/Dialect/Clus/ClusDialect.h"
#include "clusopt/Pipelines/Pipelines.h"
#include "clusopt/Support/CommandLine.h"
#include "clusopt/Support/InputFile.h"
#include "clusopt/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  clusopt::registerConversionPasses();
  clusopt::registerTransformsPasses();
  clusopt::registerPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates device modules to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<clusopt::clus::ClusDialect>();

  clusopt::installVersionPrinter();
  auto [inputFile, outputFile] = mlir::registerAndParseCLIOptions(
      argc, argv,
      "clusopt optimizer driver: the clus dialect, its passes and "
      "pipelines, plus all of upstream MLIR\n",
      registry);
  // MlirOptMain reads the input itself; refuse a FIFO, a device or an
  // oversized file first, as the other tools do.
  if (llvm::Error err = clusopt::checkInputFile(inputFile, clusopt::kMlirInput,
                                                /*allowStdin=*/true)) {
    llvm::errs() << "clusopt-opt: error: " << llvm::toString(std::move(err))
                 << "\n";
    return 1;
  }
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, inputFile, outputFile, registry));
}

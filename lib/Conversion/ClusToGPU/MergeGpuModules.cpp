//===- MergeGpuModules.cpp - one device module per compilation -----------===//
//
// gpu-kernel-outlining puts every kernel in its own gpu.module, so a
// function with several launches would serialise to several PTX files and
// cubins. clusopt emits one device binary per compilation (as nvcc does per
// translation unit): this pass moves every kernel into the first module and
// re-points the launches.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"

namespace clusopt {
#define GEN_PASS_DEF_CLUSGPUMERGEMODULES
#include "clusopt/Conversion/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {

struct ClusGpuMergeModulesPass
    : clusopt::impl::ClusGpuMergeModulesBase<ClusGpuMergeModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
    if (modules.size() < 2)
      return;
    gpu::GPUModuleOp target = modules.front();
    Block &body = target.getBodyRegion().front();
    // Outlining names every kernel after its function ("f_kernel"), and
    // each module after its kernel, made unique ("f_kernel_0"): kernels
    // take their module's name.
    DenseMap<Attribute, StringAttr> renamed; // old module name → kernel name
    for (gpu::GPUModuleOp other : llvm::drop_begin(modules)) {
      for (Operation &op :
           llvm::make_early_inc_range(other.getBodyRegion().front())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (symbol && isa<gpu::GPUFuncOp>(op))
          symbol.setName(other.getSymNameAttr());
        if (symbol && SymbolTable::lookupSymbolIn(target, symbol.getName())) {
          op.emitError("kernel name clashes with another kernel's: ")
              << symbol.getName();
          return signalPassFailure();
        }
        op.moveBefore(&body, body.end());
      }
    }
    StringAttr targetName = target.getSymNameAttr();
    module.walk([&](gpu::LaunchFuncOp launch) {
      StringAttr moduleName = launch.getKernel().getRootReference();
      StringAttr kernel = moduleName == targetName
                              ? launch.getKernel().getLeafReference()
                              : moduleName;
      launch.setKernelAttr(
          SymbolRefAttr::get(targetName, {FlatSymbolRefAttr::get(kernel)}));
    });
    for (gpu::GPUModuleOp other : llvm::drop_begin(modules))
      other.erase();
  }
};

} // namespace

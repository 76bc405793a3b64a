//===- CheckKernelParams.cpp - the PTX kernel parameter limit ------------===//
//
// PTX limits a kernel's parameters (4352 bytes up to ISA 8.0). A kernel past
// it lowers and prints fine, and only ptxas, or the driver's JIT at load
// time, rejects it. This pass checks the limit where the parameter list is
// final, on the NVVM kernels, so the compiler itself fails with a message
// that names the op, the kernel and the sizes.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"

#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "llvm/Support/MathExtras.h"

namespace clusopt {
#define GEN_PASS_DEF_CLUSGPUCHECKKERNELPARAMS
#include "clusopt/Conversion/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {

/// The name of the clus op a kernel was made from: the convert-clus-to-linalg
/// step of the GPU pipeline names every op's location after it.
std::optional<StringRef> opNameOf(Location loc) {
  std::optional<StringRef> name;
  loc->walk([&](Location inner) {
    if (auto named = dyn_cast<NameLoc>(inner);
        named && named.getName().strref().starts_with("clus.")) {
      name = named.getName().strref();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

struct ClusGpuCheckKernelParamsPass
    : clusopt::impl::ClusGpuCheckKernelParamsBase<
          ClusGpuCheckKernelParamsPass> {
  using Base::Base;

  void runOnOperation() override {
    bool tooLarge = false;
    getOperation()->walk([&](LLVM::LLVMFuncOp func) {
      if (!func->hasAttr("nvvm.kernel") &&
          !func->hasAttr(gpu::GPUDialect::getKernelFuncAttrName()))
        return;
      // Each parameter aligned to its own size, as ptxas packs the .param
      // space (the default data layout would align i64 to 4 bytes only).
      DataLayout layout = DataLayout::closest(func);
      uint64_t bytes = 0;
      for (Type type : func.getFunctionType().getParams()) {
        uint64_t size = layout.getTypeSize(type).getFixedValue();
        uint64_t align = std::min<uint64_t>(llvm::PowerOf2Ceil(size), 16);
        bytes = llvm::alignTo(bytes, std::max<uint64_t>(align, 1)) + size;
      }
      if (bytes <= static_cast<uint64_t>(limit.getValue()))
        return;
      tooLarge = true;
      // At the location, without the op: a note printing a kernel of
      // hundreds of parameters would bury the message.
      InFlightDiagnostic diag = mlir::emitError(func.getLoc());
      if (std::optional<StringRef> op = opNameOf(func.getLoc()))
        diag << "'" << *op << "': ";
      diag << "GPU kernel '" << func.getSymName() << "' needs " << bytes
           << " bytes of kernel parameters (" << func.getNumArguments()
           << " arguments), over the limit of " << limit.getValue()
           << " bytes; use fewer or lower-rank operands, e.g. split the op";
    });
    if (tooLarge)
      signalPassFailure();
  }
};

} // namespace

//===- Pipelines.h - clusopt pass pipelines ---------------------*- C++ -*-===//

#ifndef CLUSOPT_PIPELINES_PIPELINES_H
#define CLUSOPT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace clusopt {

/// clus on tensors → reference linalg → one-shot bufferization → LLVM
/// dialect, with C-interface wrappers on every function.
void buildClusToLLVMPipeline(mlir::OpPassManager &pm);

/// Registers the clusopt pipelines with the global pass registry, so that
/// `clusopt-opt --clus-to-llvm` works.
void registerPipelines();

} // namespace clusopt

#endif // CLUSOPT_PIPELINES_PIPELINES_H

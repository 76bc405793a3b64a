//===- GpuBufferize.cpp - bufferization that keeps clus ops on tensors ----===//
//
// The GPU pipeline lowers the clus ops with a hand-written kernel after
// bufferization, on tensors: this is one-shot bufferization with the clus
// dialect filtered out (which the pass options of one-shot-bufferize cannot
// express), so those ops stay tensor ops that read bufferized values.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"
#include "clusopt/Dialect/Clus/ClusDialect.h"

#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotModuleBufferize.h"

namespace clusopt {
#define GEN_PASS_DEF_CLUSGPUBUFFERIZE
#include "clusopt/Conversion/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {

struct ClusGpuBufferizePass
    : clusopt::impl::ClusGpuBufferizeBase<ClusGpuBufferizePass> {
  void runOnOperation() override {
    bufferization::OneShotBufferizationOptions options;
    options.bufferizeFunctionBoundaries = true;
    options.allowReturnAllocsFromLoops = true;
    options.allowUnknownOps = true;
    options.setFunctionBoundaryTypeConversion(
        bufferization::LayoutMapOption::IdentityLayoutMap);
    options.opFilter.denyDialect<clusopt::clus::ClusDialect>();
    bufferization::BufferizationState state;
    if (failed(bufferization::runOneShotModuleBufferize(getOperation(), options,
                                                        state)))
      signalPassFailure();
  }
};

} // namespace

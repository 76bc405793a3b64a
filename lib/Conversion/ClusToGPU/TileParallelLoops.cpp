//===- TileParallelLoops.cpp - block/thread tiles for GPU loop nests
//-------===//
//
// The reference lowering's loops reach the GPU through upstream's
// gpu-map-parallel-loops, which maps an outer scf.parallel to blocks and a
// nested one to threads. scf-parallel-loop-tiling applies one list of tile
// sizes to every loop whatever its rank, so a 2-D loop would get one thread
// per block. This pass tiles only the innermost (contiguous) dimension of
// each outermost host loop by `threads`, every other dimension by 1.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"

#include "mlir/Dialect/SCF/Transforms/Transforms.h"

namespace clusopt {
#define GEN_PASS_DEF_CLUSGPUTILEPARALLELLOOPS
#include "clusopt/Conversion/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {

struct ClusGpuTileParallelLoopsPass
    : clusopt::impl::ClusGpuTileParallelLoopsBase<
          ClusGpuTileParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (threads < 1 || threads > 1024) {
      getOperation()->emitError("threads must be in [1, 1024], got ")
          << threads.getValue();
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation()->walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>() &&
          !op->getParentOfType<gpu::LaunchOp>())
        outermost.push_back(op);
    });
    for (scf::ParallelOp op : outermost) {
      SmallVector<int64_t> sizes(op.getNumLoops(), 1);
      sizes.back() = threads;
      scf::tileParallelLoop(op, sizes, /*noMinMaxBounds=*/true);
    }
  }
};

} // namespace

//===- DeviceBuffers.cpp - host buffers of GPU code become device memory --===//
//
// After bufferization the host code of a GPU entry point allocates, copies
// and frees memrefs that only its kernels touch. They must be device
// memory: the entry point's arguments are device pointers, and a kernel
// cannot read host memory. Allocations the host reads or writes itself
// (buffer-deallocation-pipeline's bookkeeping) stay on the host; a host
// access to a device buffer is an error that names the op.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"

#include "clusopt/Conversion/ClusToGPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

namespace clusopt {
#define GEN_PASS_DEF_CLUSGPUDEVICEBUFFERS
#include "clusopt/Conversion/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {

bool inKernel(Operation *op) {
  return op->getParentOfType<gpu::LaunchOp>() ||
         op->getParentOfType<gpu::GPUFuncOp>();
}

bool isHostAccess(Operation *op) {
  return !inKernel(op) &&
         isa<memref::LoadOp, memref::StoreOp, vector::LoadOp, vector::StoreOp,
             vector::TransferReadOp, vector::TransferWriteOp>(op);
}

/// The allocation (or block argument) a memref value views.
Value rootOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto cast = dyn_cast<memref::CastOp>(def))
      v = cast.getSource();
    else if (auto meta = dyn_cast<memref::ExtractStridedMetadataOp>(def))
      v = meta.getSource();
    else if (auto re = dyn_cast<memref::ReinterpretCastOp>(def))
      v = re.getSource();
    else if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      v = view.getViewSource();
    else
      break;
  }
  return v;
}

struct ClusGpuDeviceBuffersPass
    : clusopt::impl::ClusGpuDeviceBuffersBase<ClusGpuDeviceBuffersPass> {
  void runOnOperation() override {
    SmallVector<memref::AllocOp> allocs;
    getOperation()->walk([&](memref::AllocOp op) {
      if (!inKernel(op))
        allocs.push_back(op);
    });

    // Host-only buffers: read or written by the host, never by a kernel,
    // copied or passed out.
    llvm::DenseSet<Operation *> hostAllocs;
    bool failedAny = false;
    for (memref::AllocOp alloc : allocs) {
      SmallVector<Operation *> users;
      clusopt::collectBufferUsers(alloc.getResult(), users);
      bool hostAccess = llvm::any_of(users, isHostAccess);
      bool deviceUse = llvm::any_of(users, [](Operation *user) {
        return inKernel(user) ||
               isa<memref::CopyOp, scf::YieldOp, func::ReturnOp,
                   bufferization::ToTensorOp>(user);
      });
      if (!hostAccess)
        continue;
      if (!deviceUse) {
        hostAllocs.insert(alloc);
        continue;
      }
      Operation *access = *llvm::find_if(users, isHostAccess);
      access->emitError("host code reads or writes a device buffer; no GPU "
                        "kernel covers this op");
      failedAny = true;
    }
    // Function arguments are device buffers too.
    getOperation()->walk([&](Operation *op) {
      if (!isHostAccess(op))
        return;
      Value root = rootOf(op->getOperand(
          isa<memref::StoreOp, vector::StoreOp, vector::TransferWriteOp>(op)
              ? 1
              : 0));
      auto arg = dyn_cast<BlockArgument>(root);
      auto func =
          arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()) : nullptr;
      // Entry points' arguments; private helpers (buffer deallocation's)
      // take host buffers.
      if (func && func.isPublic()) {
        op->emitError("host code reads or writes a device buffer (an entry "
                      "point argument); no GPU kernel covers this op");
        failedAny = true;
      }
    });
    if (failedAny)
      return signalPassFailure();

    auto isHost = [&](Value memref) {
      Operation *def = rootOf(memref).getDefiningOp();
      return def && hostAllocs.contains(def);
    };
    IRRewriter rewriter(&getContext());
    for (memref::AllocOp alloc : allocs) {
      if (hostAllocs.contains(alloc))
        continue;
      rewriter.setInsertionPoint(alloc);
      rewriter.replaceOpWithNewOp<gpu::AllocOp>(
          alloc, alloc.getType(), /*asyncToken=*/Type(),
          /*asyncDependencies=*/ValueRange(), alloc.getDynamicSizes(),
          alloc.getSymbolOperands(), /*hostShared=*/false);
    }
    SmallVector<Operation *> frees, copies;
    getOperation()->walk([&](Operation *op) {
      if (inKernel(op))
        return;
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op);
          dealloc && !isHost(dealloc.getMemref()))
        frees.push_back(op);
      if (isa<memref::CopyOp>(op))
        copies.push_back(op);
    });
    for (Operation *op : frees) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<gpu::DeallocOp>(
          op, /*asyncToken=*/Type(), ValueRange(),
          cast<memref::DeallocOp>(op).getMemref());
    }
    for (Operation *op : copies) {
      auto copy = cast<memref::CopyOp>(op);
      Value src = copy.getSource(), dst = copy.getTarget();
      if (isHost(src) || isHost(dst)) {
        copy.emitError("copy between host and device buffers in GPU host "
                       "code");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(copy);
      if (src.getType() != dst.getType())
        src =
            memref::CastOp::create(rewriter, copy.getLoc(), dst.getType(), src);
      rewriter.replaceOpWithNewOp<gpu::MemcpyOp>(copy, Type(), ValueRange(),
                                                 dst, src);
    }
  }
};

} // namespace

void clusopt::collectBufferUsers(Value v, SmallVectorImpl<Operation *> &users) {
  for (Operation *user : v.getUsers()) {
    users.push_back(user);
    if (isa<memref::CastOp, memref::ReinterpretCastOp,
            memref::ExtractStridedMetadataOp, ViewLikeOpInterface>(user))
      for (Value result : user->getResults())
        if (isa<MemRefType>(result.getType()))
          collectBufferUsers(result, users);
  }
}

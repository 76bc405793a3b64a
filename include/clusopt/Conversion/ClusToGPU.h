//===- ClusToGPU.h - which clus ops have hand-written GPU kernels -*- C++
//-*-===//

#ifndef CLUSOPT_CONVERSION_CLUSTOGPU_CLUSTOGPU_H
#define CLUSOPT_CONVERSION_CLUSTOGPU_CLUSTOGPU_H

#include "clusopt/Conversion/ClusToVector.h"
#include "clusopt/Dialect/Clus/ClusOps.h"

namespace clusopt {

/// True for the ops convert-clus-to-gpu lowers: attention, pool,
/// cluster_attention, and a soft_assign over tokens that only pools consume
/// (it is fused into them).
inline bool hasGpuKernel(mlir::Operation *op) {
  if (mlir::isa<clus::AttentionOp, clus::PoolOp, clus::ClusterAttentionOp>(op))
    return true;
  auto softAssign = mlir::dyn_cast<clus::SoftAssignOp>(op);
  return softAssign && isFusedIntoPools(softAssign);
}

/// Every op using the buffer `v` or a view of it (casts, views, strided
/// metadata), for the GPU passes' buffer bookkeeping.
void collectBufferUsers(mlir::Value v,
                        llvm::SmallVectorImpl<mlir::Operation *> &users);

} // namespace clusopt

#endif // CLUSOPT_CONVERSION_CLUSTOGPU_CLUSTOGPU_H

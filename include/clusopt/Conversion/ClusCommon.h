//===- ClusCommon.h - policy the CPU and GPU lowerings share ----*- C++ -*-===//
//
// The policy convert-clus-to-vector and convert-clus-to-gpu share, in the
// public headers because tools (clusopt-compile's manifest, the tuning
// database) must agree with both passes. The kernels' shared code (the
// KernelBuilder vocabulary, the online-softmax step) is private to
// lib/Conversion/ClusCommon.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_CONVERSION_CLUSCOMMON_H
#define CLUSOPT_CONVERSION_CLUSCOMMON_H

#include "clusopt/Dialect/Clus/ClusOps.h"

namespace clusopt {

/// A soft_assign that fuses into the pools consuming it (softmax over
/// tokens): the pool's kernel computes the softmax online, on CPU and GPU.
inline bool fusesIntoPool(clus::SoftAssignOp op) {
  return op.getAxis() == clus::SoftAssignAxis::tokens;
}

/// A soft_assign that needs no kernel of its own: it fuses into pools and
/// only pools consume it.
inline bool isFusedIntoPools(clus::SoftAssignOp op) {
  return fusesIntoPool(op) && !op->use_empty() &&
         llvm::all_of(op->getUsers(), [](mlir::Operation *user) {
           return mlir::isa<clus::PoolOp>(user);
         });
}

} // namespace clusopt

#endif // CLUSOPT_CONVERSION_CLUSCOMMON_H

//===- ClusOps.h - clus dialect ops and attributes --------------*- C++ -*-===//

#ifndef CLUSOPT_DIALECT_CLUS_CLUSOPS_H
#define CLUSOPT_DIALECT_CLUS_CLUSOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "clusopt/Dialect/Clus/ClusDialect.h"
#include "clusopt/Dialect/Clus/ClusEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "clusopt/Dialect/Clus/ClusAttrs.h.inc"

#define GET_OP_CLASSES
#include "clusopt/Dialect/Clus/ClusOps.h.inc"

namespace clusopt::clus {
/// The lowerings of the clus ops run on tensors, before bufferization.
/// Emits an error naming `pass` at every clus op under `root` in the buffer
/// form, and fails when there is one.
mlir::LogicalResult requireValueSemantics(mlir::Operation *root,
                                          llvm::StringRef pass);
} // namespace clusopt::clus

#endif // CLUSOPT_DIALECT_CLUS_CLUSOPS_H

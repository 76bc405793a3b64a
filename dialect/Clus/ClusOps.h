//===- ClusOps.h - clus dialect ops and attributes --------------*- C++ -*-===//

#ifndef CLUSOPT_DIALECT_CLUS_CLUSOPS_H
#define CLUSOPT_DIALECT_CLUS_CLUSOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/Clus/ClusDialect.h"
#include "dialect/Clus/ClusEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/Clus/ClusAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialect/Clus/ClusOps.h.inc"

#endif // CLUSOPT_DIALECT_CLUS_CLUSOPS_H

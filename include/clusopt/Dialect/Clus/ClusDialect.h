//===- ClusDialect.h - clus dialect declaration -----------------*- C++ -*-===//

#ifndef CLUSOPT_DIALECT_CLUS_CLUSDIALECT_H
#define CLUSOPT_DIALECT_CLUS_CLUSDIALECT_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "clusopt/Dialect/Clus/ClusOpsDialect.h.inc"

#endif // CLUSOPT_DIALECT_CLUS_CLUSDIALECT_H

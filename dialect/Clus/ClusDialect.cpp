//===- ClusDialect.cpp - clus dialect registration --------------*- C++ -*-===//

#include "dialect/Clus/ClusDialect.h"
#include "dialect/Clus/ClusOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace clusopt::clus;

#include "dialect/Clus/ClusEnums.cpp.inc"
#include "dialect/Clus/ClusOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/Clus/ClusAttrs.cpp.inc"

void ClusDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/Clus/ClusAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialect/Clus/ClusOps.cpp.inc"
      >();
}

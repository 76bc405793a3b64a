//===- ClusDialect.cpp - clus dialect registration --------------*- C++ -*-===//

#include "clusopt/Dialect/Clus/ClusDialect.h"
#include "clusopt/Dialect/Clus/ClusOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace clusopt::clus;

namespace clusopt::clus {
// Attaches TilingInterface to every clus op (ClusTilingInterface.cpp).
void registerTilingInterfaceModels(MLIRContext *context);
// Attaches PartialReductionOpInterface to pool and attention
// (ClusTilingInterface.cpp).
void registerPartialReductionModels(MLIRContext *context);
// Attaches BufferizableOpInterface to every clus op
// (ClusBufferization.cpp).
void registerBufferizableOpInterfaceModels(MLIRContext *context);
} // namespace clusopt::clus

#include "clusopt/Dialect/Clus/ClusEnums.cpp.inc"
#include "clusopt/Dialect/Clus/ClusOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "clusopt/Dialect/Clus/ClusAttrs.cpp.inc"

void ClusDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "clusopt/Dialect/Clus/ClusAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "clusopt/Dialect/Clus/ClusOps.cpp.inc"
      >();
  registerTilingInterfaceModels(getContext());
  registerPartialReductionModels(getContext());
  registerBufferizableOpInterfaceModels(getContext());
}

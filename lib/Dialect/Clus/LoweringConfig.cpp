//===- LoweringConfig.cpp - the clus.lowering_config attribute --*- C++ -*-===//
//
// Verification of #clus.lowering_config, on its own and on an op, and of
// the other discardable attributes the dialect defines.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Dialect/Clus/LoweringConfig.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace clusopt::clus;

LogicalResult
LoweringConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                           std::optional<int64_t> rows,
                           std::optional<int64_t> cols) {
  if (!rows && !cols)
    return emitError() << "a lowering config sets rows, cols or both";
  if (rows && (*rows < 1 || *rows > kMaxRows))
    return emitError() << "lowering config rows must be in [1, " << kMaxRows
                       << "], got " << *rows;
  if (cols &&
      (*cols < kColsMultiple || *cols > kMaxCols || *cols % kColsMultiple))
    return emitError() << "lowering config cols must be a multiple of "
                       << kColsMultiple << " in [" << kColsMultiple << ", "
                       << kMaxCols << "], got " << *cols;
  return success();
}

TileKnobs clusopt::clus::getTileKnobs(Operation *op) {
  if (isa<PoolOp, AttentionOp, ClusterAttentionOp>(op))
    return {true, true};
  if (isa<DpcKnnOp, KMeansOp>(op))
    return {true, false};
  return {};
}

LoweringConfigAttr clusopt::clus::getLoweringConfig(Operation *op) {
  return op->getAttrOfType<LoweringConfigAttr>(LoweringConfigAttr::kAttrName);
}

void clusopt::clus::setLoweringConfig(Operation *op,
                                      LoweringConfigAttr config) {
  op->setAttr(LoweringConfigAttr::kAttrName, config);
}

std::optional<std::string>
clusopt::clus::loweringConfigProblem(Operation *op, LoweringConfigAttr config) {
  TileKnobs knobs = getTileKnobs(op);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "'" << op->getName() << "' ";
  if (!knobs.any())
    os << "reads no tile sizes, so it takes no lowering config";
  else if (config.getRows() && !knobs.rows)
    os << "reads only 'cols'; its lowering config sets 'rows'";
  else if (config.getCols() && !knobs.cols)
    os << "reads only 'rows'; its lowering config sets 'cols'";
  else
    return std::nullopt;
  return text;
}

LogicalResult ClusDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attribute) {
  StringRef name = attribute.getName().strref();
  if (name == LoweringConfigAttr::kAttrName) {
    auto config = dyn_cast<LoweringConfigAttr>(attribute.getValue());
    if (!config)
      return op->emitOpError()
             << "'" << name
             << "' must be a #clus.lowering_config<rows = R, cols = C>, got "
             << attribute.getValue();
    if (!isa<ClusDialect>(op->getDialect()))
      return op->emitOpError() << "'" << name << "' applies to clus ops only";
    if (std::optional<std::string> problem = loweringConfigProblem(op, config))
      return op->emitOpError() << *problem;
    return success();
  }
  if (name == "clus.tuning_record") {
    // Set by clusopt-compile for its manifest: where a config came from.
    if (!isa<DictionaryAttr>(attribute.getValue()))
      return op->emitOpError() << "'" << name << "' must be a dictionary";
    return success();
  }
  if (name == "clus.tile")
    return op->emitOpError()
           << "'clus.tile' is no longer read; write 'clus.lowering_config = "
              "#clus.lowering_config<rows = R, cols = C>'";
  return op->emitOpError() << "unknown clus attribute '" << name
                           << "' (the dialect defines '"
                           << LoweringConfigAttr::kAttrName
                           << "' and 'clus.tuning_record')";
}

//===- LoweringConfig.h - per-op tile sizes of the CPU lowering -*- C++ -*-===//
//
// The `clus.lowering_config` attribute on an op, and which of its sizes the
// op's kernel reads. The dialect verifies configs with these; the config
// pass, the CPU lowering and the tools read and write them through them.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_DIALECT_CLUS_LOWERINGCONFIG_H
#define CLUSOPT_DIALECT_CLUS_LOWERINGCONFIG_H

#include "clusopt/Dialect/Clus/ClusOps.h"

#include "mlir/IR/Operation.h"

#include <optional>
#include <string>

namespace clusopt::clus {

/// The tile sizes an op's kernel reads: `rows` blocks its parallel axis and
/// `cols` tiles its streamed axis. An op with neither (soft_assign,
/// aggregate, broadcast, topk_members) has nothing to configure or tune.
struct TileKnobs {
  bool rows = false;
  bool cols = false;
  /// Whether the kernel reads any tile size, i.e. has something to tune.
  bool any() const { return rows || cols; }
};
TileKnobs getTileKnobs(mlir::Operation *op);

/// The op's `clus.lowering_config`, or null.
LoweringConfigAttr getLoweringConfig(mlir::Operation *op);
void setLoweringConfig(mlir::Operation *op, LoweringConfigAttr config);

/// What is wrong with `config` on `op` (a size the op's kernel does not
/// read), or nothing.
std::optional<std::string> loweringConfigProblem(mlir::Operation *op,
                                                 LoweringConfigAttr config);

} // namespace clusopt::clus

#endif // CLUSOPT_DIALECT_CLUS_LOWERINGCONFIG_H

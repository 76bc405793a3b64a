//===- ClusToVector.h - what the optimised CPU lowering covers --*- C++ -*-===//
//
// The parts of convert-clus-to-vector that tools need too: which ops get a
// kernel, which soft_assign fuses, and the tile sizes an op compiles with.
// clusopt-compile uses them for its manifest and tile space, so they cannot
// drift from what the pass does.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_CONVERSION_CLUSTOVECTOR_CLUSTOVECTOR_H
#define CLUSOPT_CONVERSION_CLUSTOVECTOR_CLUSTOVECTOR_H

#include "clusopt/Dialect/Clus/ClusOps.h"

#include "mlir/IR/Operation.h"

#include <optional>
#include <string>

namespace clusopt {

/// Tile sizes of one op. `rows` is the register-blocking factor of the
/// outer (parallel) axis: query rows, cluster rows or token rows. `cols` is
/// the tile of the streamed axis (clusters for attention, tokens for pooling
/// and distances) and is a multiple of the vector width.
struct TileConfig {
  static constexpr int64_t kMaxRows = 8;
  static constexpr int64_t kMaxCols = 4096;
  int64_t rows = 4;
  int64_t cols = 128;
};

/// What is wrong with `tile` for `width` f32 lanes, e.g. "rows must be in
/// [1, 8], got 9"; nothing when it is legal.
std::optional<std::string> tileProblem(const TileConfig &tile, int64_t width);

/// The extent of the axis an op's `cols` tiles (tokens for pool and
/// cluster_attention, the most clusters for attention), when static.
std::optional<int64_t> streamedExtent(mlir::Operation *op);

/// `tile` with `cols` at most the op's streamed extent padded to `width`:
/// a larger tile runs the same single pass over the axis, so it is the
/// same kernel, and --print-tile-space lists only tiles up to there.
TileConfig clampTileToExtent(mlir::Operation *op, TileConfig tile,
                             int64_t width);

/// `defaults` overridden by the op's `clus.tile = {rows, cols}` attribute;
/// emits an error on the op and fails when the result is illegal. The
/// result is clamped to the op's extent (clampTileToExtent).
mlir::FailureOr<TileConfig>
resolveTileConfig(mlir::Operation *op, TileConfig defaults, int64_t width);

/// Ops convert-clus-to-vector writes a kernel for (every clus op).
bool hasVectorKernel(mlir::Operation *op);

/// The tile sizes an op's kernel reads: `rows` blocks its parallel axis and
/// `cols` tiles its streamed axis. An op with neither (soft_assign,
/// aggregate, broadcast, topk_members) has nothing to tune.
struct TileKnobs {
  bool rows = false;
  bool cols = false;
  /// Whether the kernel reads any tile size, i.e. has something to tune.
  bool any() const { return rows || cols; }
};
TileKnobs tileKnobs(mlir::Operation *op);

/// A soft_assign that fuses into the pools consuming it (softmax over
/// tokens).
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

#endif // CLUSOPT_CONVERSION_CLUSTOVECTOR_CLUSTOVECTOR_H

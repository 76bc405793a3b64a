//===- ClusToVector.h - what the optimised CPU lowering covers --*- C++ -*-===//
//
// The parts of convert-clus-to-vector that tools need too: which ops get a
// kernel and the tile sizes an op compiles with (which soft_assign fuses is
// ClusCommon.h, shared with the GPU lowering).
// clusopt-compile uses them for its manifest and tile space, so they cannot
// drift from what the pass does.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_CONVERSION_CLUSTOVECTOR_CLUSTOVECTOR_H
#define CLUSOPT_CONVERSION_CLUSTOVECTOR_CLUSTOVECTOR_H

#include "clusopt/Conversion/ClusCommon.h"
#include "clusopt/Dialect/Clus/ClusOps.h"
#include "clusopt/Dialect/Clus/LoweringConfig.h"

#include "mlir/IR/Operation.h"

#include <optional>
#include <string>

namespace clusopt {

/// Tile sizes of one op. `rows` is the register-blocking factor of the
/// outer (parallel) axis: query rows, cluster rows or token rows. `cols` is
/// the tile of the streamed axis (clusters for attention, tokens for pooling
/// and distances) and is a multiple of the vector width.
struct TileConfig {
  static constexpr int64_t kMaxRows = clus::LoweringConfigAttr::kMaxRows;
  static constexpr int64_t kMaxCols = clus::LoweringConfigAttr::kMaxCols;
  int64_t rows = 4;
  int64_t cols = 128;
};

/// What is wrong with `tile` for `width` f32 lanes, e.g. "rows must be in
/// [1, 8], got 9"; nothing when it is legal.
std::optional<std::string> tileProblem(const TileConfig &tile, int64_t width);

/// `rows` of a default tile (the passes' and tools' options) that leaves
/// each op its own default (opDefaultTile); the options' default.
constexpr int64_t kOpDefaultRows = 0;

/// tileProblem for a default tile, whose rows may be kOpDefaultRows.
std::optional<std::string> defaultTileProblem(const TileConfig &tile,
                                              int64_t width);

/// `defaults` with kOpDefaultRows replaced by the op's own rows for `width`
/// lanes: 8 for pool with 16 lanes (8 rows of 3 vectors fill AVX-512's 32
/// registers; 4 rows ran its PaCa shapes 1.1-1.2x slower), 4 otherwise.
TileConfig opDefaultTile(mlir::Operation *op, TileConfig defaults,
                         int64_t width);

/// The extent of the axis an op's `cols` tiles (tokens for pool and
/// cluster_attention, the most clusters for attention), when static.
std::optional<int64_t> streamedExtent(mlir::Operation *op);

/// `tile` with `cols` at most the op's streamed extent padded to `width`:
/// a larger tile runs the same single pass over the axis, so it is the
/// same kernel, and --print-tile-space lists only tiles up to there.
TileConfig clampTileToExtent(mlir::Operation *op, TileConfig tile,
                             int64_t width);

/// opDefaultTile(op, defaults, width) overridden by the sizes the op's
/// `clus.lowering_config` sets; emits an error on the op and fails when the
/// result is illegal for `width` lanes. The result is clamped to the op's
/// extent (clampTileToExtent).
mlir::FailureOr<TileConfig>
resolveTileConfig(mlir::Operation *op, TileConfig defaults, int64_t width);

/// Ops convert-clus-to-vector writes a kernel for (every clus op).
bool hasVectorKernel(mlir::Operation *op);

/// The tile sizes an op's kernel reads (see clus::getTileKnobs).
using TileKnobs = clus::TileKnobs;
inline TileKnobs tileKnobs(mlir::Operation *op) {
  return clus::getTileKnobs(op);
}

/// The lowering config that sets both of `tile`'s sizes the op reads.
clus::LoweringConfigAttr loweringConfigFor(mlir::Operation *op,
                                           const TileConfig &tile);

} // namespace clusopt

#endif // CLUSOPT_CONVERSION_CLUSTOVECTOR_CLUSTOVECTOR_H

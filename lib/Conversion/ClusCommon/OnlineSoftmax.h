//===- OnlineSoftmax.h - the online-softmax step of clus kernels *- C++ -*-===//
//
// Every kernel that streams a softmax (CPU attention and fused pool, the GPU
// flash kernel, GPU cluster_attention) runs the same recurrence per softmax
// row, tile after tile of scores:
//
//   max' = max(max, tile max)
//   c    = exp(max − max')
//   sum' = sum · c + Σ exp(s − max')
//   acc' = acc · c + Σ exp(s − max') · v
//
// `onlineSoftmaxStep` is that recurrence. How a kernel holds its scores
// (vectors in a scratch row, mma fragments spread over 4 lanes, one scalar)
// is its own, so the step takes the two reductions over the tile as hooks.
// The CPU kernels' vector form (`onlineSoftmaxRows`) and the vector
// reductions it is made of live here too.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_CONVERSION_CLUSCOMMON_ONLINESOFTMAX_H
#define CLUSOPT_CONVERSION_CLUSCOMMON_ONLINESOFTMAX_H

#include "lib/Conversion/ClusCommon/KernelBuilder.h"

namespace clusopt {

/// A softmax row's running statistics: its largest score so far and
/// Σ exp(s − max) over its scores so far. A row starts at (-inf, 0).
struct SoftmaxStats {
  mlir::Value max, sum;
};

/// A row's running statistics after one more tile.
struct OnlineSoftmaxStep {
  mlir::Value max, sum;
  /// exp(oldMax − newMax): what the row's accumulator must be scaled by
  /// before the tile's P · V is added (0 on the first tile).
  mlir::Value correction;
};

/// One online-softmax step of every row in `running` over a tile of scores.
/// `tileMaxes()` returns each row's largest score in the tile (reduced the
/// kernel's way). `addExps(maxes, scaledSum)` turns the tile's scores into
/// the numerators exp(s − maxes[r]) where the kernel keeps P, and returns
/// per row scaledSum(r) + Σ of them (summed the kernel's way); scaledSum(r)
/// emits the row's old sum times its correction, where the kernel wants it
/// (call it once per row). `rescale(corrections)`, when given, scales the
/// rows' accumulators; kernels that rescale as P · V adds the tile leave it
/// out and use the returned corrections. Every row's tile must hold at
/// least one real score (masked ones are -inf), so the new maxes are
/// finite.
llvm::SmallVector<OnlineSoftmaxStep> onlineSoftmaxStep(
    KernelBuilder &k, llvm::ArrayRef<SoftmaxStats> running,
    llvm::function_ref<llvm::SmallVector<mlir::Value>()> tileMaxes,
    llvm::function_ref<llvm::SmallVector<mlir::Value>(
        llvm::ArrayRef<mlir::Value> maxes,
        llvm::function_ref<mlir::Value(int64_t row)> scaledSum)>
        addExps,
    llvm::function_ref<void(llvm::ArrayRef<mlir::Value> corrections)> rescale =
        nullptr);

/// onlineSoftmaxStep of one row over a tile of one scalar score; `p` is set
/// to its numerator exp(score − max').
OnlineSoftmaxStep onlineSoftmaxScore(
    KernelBuilder &k, SoftmaxStats running, mlir::Value score, mlir::Value &p,
    llvm::function_ref<void(llvm::ArrayRef<mlir::Value> corrections)> rescale =
        nullptr);

//===----------------------------------------------------------------------===//
// The vector form: scores read a vector at a time along the contiguous axis
//===----------------------------------------------------------------------===//

/// a > b ? a : b, the form x86's vmaxps computes: with arith.maximumf's
/// NaN checks, the per-row max of the online softmax was a long serial
/// chain of compares and blends (6% of attention's time). The max only
/// stabilises the exps that follow, so it may drop a NaN: the NaN still
/// reaches the result through its own exp.
mlir::Value maxForExp(KernelBuilder &k, mlir::Value a, mlir::Value b);

/// The largest lane of `lanes` by maxForExp, reduced as a shuffle tree.
mlir::Value laneMax(KernelBuilder &k, mlir::Value lanes);

/// The lanes of `lanes` summed as a tree (reassoc): the ordered reduction
/// was a chain of 16 dependent scalar adds per row and tile.
mlir::Value laneSum(KernelBuilder &k, mlir::Value lanes);

/// Per row r < rows, the lane-wise maxForExp of the vectors at(r, j) for
/// j = 0, width, ... < len (-inf lanes when there are none). The rows share
/// one loop, so that their chains of dependent maxes overlap.
llvm::SmallVector<mlir::Value>
maxLanesOfRows(KernelBuilder &k, int64_t rows, mlir::Value len,
               llvm::function_ref<mlir::Value(int64_t, mlir::Value)> at);

/// Per row r < rows, the lane-wise sums of exp(at(r, j) − maxes[r]) over
/// the same vectors, in one loop; `store(r, j, e)`, when given, keeps each
/// exp vector (the softmax numerators).
llvm::SmallVector<mlir::Value> sumExpLanesOfRows(
    KernelBuilder &k, int64_t rows, mlir::Value len,
    llvm::ArrayRef<mlir::Value> maxes,
    llvm::function_ref<mlir::Value(int64_t, mlir::Value)> at,
    llvm::function_ref<void(int64_t, mlir::Value, mlir::Value)> store =
        nullptr);

/// The largest lane of the vectors at(j) for j = 0, width, ... < len
/// (-inf when there are none), by maxForExp.
mlir::Value maxOverVectors(KernelBuilder &k, mlir::Value len,
                           llvm::function_ref<mlir::Value(mlir::Value)> at);

/// Σ over the lanes of exp(at(j) − max) for the same vectors; `store(j, e)`,
/// when given, keeps each exp vector (the softmax numerators).
mlir::Value sumExpOverVectors(
    KernelBuilder &k, mlir::Value len, mlir::Value max,
    llvm::function_ref<mlir::Value(mlir::Value)> at,
    llvm::function_ref<void(mlir::Value, mlir::Value)> store = nullptr);

/// onlineSoftmaxStep of rows [0, rows) over a tile of `len` scores each,
/// read a vector at a time by `scoresAt(r, j)` (-inf in masked lanes);
/// `state` holds each row's running max and sum, interleaved. Leaves
/// exp(s − newMax) in p[r, :len]; the caller rescales the accumulator by
/// the returned corrections as it adds the tile (saving a pass over the
/// row). The rows' loops run side by side so that their chains of
/// dependent maxes, exps and adds overlap (one row after another, 4 rows
/// took 10% more of attention's time).
llvm::SmallVector<OnlineSoftmaxStep> onlineSoftmaxRows(
    KernelBuilder &k, int64_t rows,
    llvm::function_ref<mlir::Value(int64_t, mlir::Value)> scoresAt,
    mlir::Value p, mlir::Value len, mlir::ValueRange state);

} // namespace clusopt

#endif // CLUSOPT_CONVERSION_CLUSCOMMON_ONLINESOFTMAX_H

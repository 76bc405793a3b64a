//===- ClusToVector.cpp - tiled, vectorised CPU kernels for clus ops ------===//
//
// The optimised CPU lowering. Every clus op becomes a kernel of scf loops
// over memrefs with 1-D vector ops along the contiguous axis:
//
// - pool (fused with a soft_assign over tokens): one online-softmax pass
//   over token tiles; no [M, N] probability tensor is written.
// - attention: flash-style. Per block of `rows` queries it streams cluster
//   tiles of `cols`, keeping a running max and sum; S scales in one kernel.
// - soft_assign: row softmax, vectorised along the contiguous axis.
// - dpc_knn: distances are recomputed tile by tile (running k-smallest for
//   the density, running min for δ); memory is O(N·C), never N×N.
// - kmeans: per iteration, a register-blocked nearest-centroid pass and a
//   channel-split segment mean; no [N, M] distance buffer.
// - aggregate / broadcast: scatter and gather of rows, split by channel
//   vectors so threads never write the same element.
// - topk_members: a running top-κ per cluster, O(M·κ) memory.
// - cluster_attention: summaries, per-cluster member attention, and a
//   channel-split scatter-mean; O(M·κ + N) memory.
//
// The outermost loops are scf.parallel, which the CPU pipeline lowers to
// OpenMP.
//
// Why hand-written: upstream has no online-softmax reduction, no running
// k-smallest and no flash-attention rewrite for CPU, and linalg tiling
// cannot fuse a softmax's max/sum through the consumer matmul. Everything
// after this pass (bufferization, vector → LLVM, scf → OpenMP) is upstream.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"

#include "clusopt/Conversion/ClusToVector.h"
#include "clusopt/Dialect/Clus/ClusOps.h"
#include "lib/Conversion/ClusCommon/KernelBuilder.h"
#include "lib/Conversion/ClusCommon/OnlineSoftmax.h"

#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace clusopt {
#define GEN_PASS_DEF_CONVERTCLUSTOVECTOR
#include "clusopt/Conversion/Passes.h.inc"
} // namespace clusopt

using namespace mlir;
using namespace clusopt;
using namespace clusopt::clus;

using vector::CombiningKind;

static constexpr double kInf = std::numeric_limits<double>::infinity();

namespace {

/// Rows `base + r` for r < rows, clamped to `n - 1` so the last, ragged
/// block reads valid memory; its extra rows are computed but never stored.
SmallVector<Value> clampedRows(KernelBuilder &k, Value base, int64_t rows,
                               Value n) {
  SmallVector<Value> out;
  Value last = k.sub(n, k.idx(1));
  for (int64_t r = 0; r < rows; ++r)
    out.push_back(k.minIdx(k.add(base, k.idx(r)), last));
  return out;
}

/// Stores happen only for rows that exist.
void forValidRows(KernelBuilder &k, Value base, int64_t rows, Value n,
                  function_ref<void(int64_t, Value)> body) {
  for (int64_t r = 0; r < rows; ++r) {
    Value row = k.add(base, k.idx(r));
    Value valid =
        arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::slt, row, n);
    k.ifThen(valid, [&] { body(r, row); });
  }
}

//===----------------------------------------------------------------------===//
// Row blocks, shared by pool and attention (the online-softmax step itself
// is ClusCommon/OnlineSoftmax.h)
//===----------------------------------------------------------------------===//

/// Zeroes `rows` rows of `buf` up to `widthPad` (a multiple of the width).
void zeroRows(KernelBuilder &k, Value buf, int64_t rows, Value widthPad) {
  k.loop(k.idx(0), widthPad, k.idx(k.width), [&](Value cc) {
    for (int64_t r = 0; r < rows; ++r)
      k.writeVec(k.splat(0.0), buf, {k.idx(r), cc}, true);
  });
}

/// How many vectors per row a register tile of `rows` rows can hold: the
/// tile's accumulators, one load per vector and a broadcast must fit the
/// register file (32 vector registers with AVX-512, 16 otherwise).
int64_t vectorsPerRow(KernelBuilder &k, int64_t rows) {
  int64_t registers = k.width == 16 ? 32 : 16;
  int64_t most = 1;
  for (int64_t v = 2; v <= 4; ++v)
    if (rows * v + v + 1 <= registers)
      most = v;
  return most;
}

/// vectorsPerRow for pool's kernel, whose rows' weights are one broadcast
/// each: up to 6 vectors per row, so that 4 rows fill AVX-512's registers
/// (24 sums, 6 loads and a broadcast) as 8 rows of 3 do, with fewer
/// broadcasts per FMA (0.42 loads per FMA against 0.46).
int64_t poolVectorsPerRow(KernelBuilder &k, int64_t rows) {
  int64_t registers = k.width == 16 ? 32 : 16;
  int64_t most = 1;
  for (int64_t v = 2; v <= 6; ++v)
    if (rows * v + v + 1 <= registers)
      most = v;
  return most;
}

/// Runs body(start, count) over [0, len) (a multiple of the width) in
/// groups of `group` vectors, then the rest in one smaller group (7 vectors
/// in groups of 4 run as 4 + 3), so every vector gets a full register tile.
void forVectorGroups(KernelBuilder &k, Value len, int64_t group,
                     function_ref<void(Value, int64_t)> body) {
  Value start = k.idx(0);
  for (int64_t g = group; g >= 1; --g) {
    Value step = k.idx(g * k.width);
    Value count = arith::DivUIOp::create(k.b, k.loc, k.sub(len, start), step);
    Value end = k.add(start, k.mul(count, step));
    k.loop(start, end, step, [&](Value s) { body(s, g); });
    start = end;
  }
}

/// acc[r, :] += Σ_{j < len} p[r, j] · src(j) over `accPad` columns, with a
/// register tile of rows × (up to 4) vectors: per j, each source vector
/// is loaded once and each p[r, j] broadcast once for all its FMAs.
/// `srcAt(j, cc)` reads that vector of row j of the source (tokens or
/// values). With `rowScales`, acc[r, :] is first scaled by rowScales[r]
/// (an online softmax's correction), in the same pass.
void accumulateWeightedRows(KernelBuilder &k, Value acc, Value p, int64_t rows,
                            Value accPad, Value len,
                            function_ref<Value(Value, Value)> srcAt,
                            ArrayRef<Value> rowScales = {}) {
  Value zero = k.idx(0);
  forVectorGroups(
      k, accPad, vectorsPerRow(k, rows), [&](Value cc0, int64_t group) {
        SmallVector<Value> cols, accs;
        for (int64_t v = 0; v < group; ++v)
          cols.push_back(k.add(cc0, k.idx(v * k.width)));
        for (int64_t r = 0; r < rows; ++r) {
          Value scale = rowScales.empty() ? Value() : k.splat(rowScales[r]);
          for (int64_t v = 0; v < group; ++v) {
            Value a = k.readVec(acc, {k.idx(r), cols[v]}, true);
            accs.push_back(scale ? k.mulf(a, scale) : a);
          }
        }
        accs = k.loop(zero, len, k.idx(1), accs,
                      [&](Value j, ValueRange a) -> SmallVector<Value> {
                        SmallVector<Value> src, out;
                        for (int64_t v = 0; v < group; ++v)
                          src.push_back(srcAt(j, cols[v]));
                        for (int64_t r = 0; r < rows; ++r) {
                          Value pj = k.splat(memref::LoadOp::create(
                              k.b, k.loc, p, ValueRange{k.idx(r), j}));
                          for (int64_t v = 0; v < group; ++v)
                            out.push_back(k.fma(pj, src[v], a[r * group + v]));
                        }
                        return out;
                      });
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t v = 0; v < group; ++v)
            k.writeVec(accs[r * group + v], acc, {k.idx(r), cols[v]}, true);
      });
}

/// The register-blocked inner loop of scores and distances: for i < len,
/// with `group` column vectors t_v = columnAt(i, v) loaded once and each
/// row's scalar x_r = rowAt(r, i) broadcast once,
/// acc[r·group + v] = step(x_r, t_v, acc[r·group + v]).
SmallVector<Value>
rowBlockReduce(KernelBuilder &k, int64_t rows, int64_t group, Value len,
               function_ref<Value(Value, int64_t)> columnAt,
               function_ref<Value(int64_t, Value)> rowAt,
               function_ref<Value(Value, Value, Value)> step) {
  SmallVector<Value> init(rows * group, k.splat(0.0));
  return k.loop(k.idx(0), len, k.idx(1), init,
                [&](Value i, ValueRange a) -> SmallVector<Value> {
                  SmallVector<Value> t, out;
                  for (int64_t v = 0; v < group; ++v)
                    t.push_back(columnAt(i, v));
                  for (int64_t r = 0; r < rows; ++r) {
                    Value x = k.splat(rowAt(r, i));
                    for (int64_t v = 0; v < group; ++v)
                      out.push_back(step(x, t[v], a[r * group + v]));
                  }
                  return out;
                });
}

/// rowBlockReduce over one column vector.
SmallVector<Value>
rowBlockReduce(KernelBuilder &k, int64_t rows, Value len,
               function_ref<Value(Value)> columnAt,
               function_ref<Value(int64_t, Value)> rowAt,
               function_ref<Value(Value, Value, Value)> step) {
  return rowBlockReduce(
      k, rows, 1, len, [&](Value i, int64_t) { return columnAt(i); }, rowAt,
      step);
}

//===----------------------------------------------------------------------===//
// pool, optionally fused with soft_assign over tokens
//===----------------------------------------------------------------------===//

/// Y[b, m, :] = Σ_n p[m, n] X[b, n, :]. With `fused`, `weights` holds
/// logits and p = softmax_n(logits) computed online: per token tile, the
/// running max is updated, the accumulator rescaled, and exp(l − max) is
/// kept only for that tile in a [rows, cols] scratch. Without it, the
/// weights are broadcast straight from Z.
///
/// The first tile is emitted on its own: its accumulators start at zero in
/// registers, and when it is the only tile (N ≤ cols, the usual case with
/// the default tile) they go straight to Y, scaled by 1 / sum. Later tiles
/// carry the accumulators through a [rows, C] scratch. Keeping every tile
/// on the scratch path cost a load, a rescale and a store per accumulator
/// per tile, and, once LLVM had unrolled the column groups of a static C,
/// it hoisted the next group's accumulator loads above the current group's
/// loop and spilled in it.
Value emitPool(KernelBuilder &k, Value weightsT, Value xT,
               RankedTensorType resultType, bool fused, const TileConfig &tc) {
  Value w = k.toBuffer(weightsT), x = k.toBuffer(xT);
  Value batch = k.dim(w, 0), m = k.dim(w, 1), n = k.dim(w, 2), c = k.dim(x, 2);
  Value y = k.alloc(resultType, dynamicSizes(resultType, {batch, m, c}));
  int64_t rows = tc.rows, cols = tc.cols, vw = k.width;
  Value cPad = k.padToWidth(c);
  // Columns in whole vectors: read and written without masks.
  Value cFull =
      k.mul(arith::DivUIOp::create(k.b, k.loc, c, k.idx(vw)), k.idx(vw));
  Value zero = k.idx(0), colsIdx = k.idx(cols);
  Value oneTile =
      arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::sle, n, colsIdx);
  int64_t group = poolVectorsPerRow(k, rows);

  k.parallel({batch, k.ceilDiv(m, rows)}, [&](ValueRange ivs) {
    Value b = ivs[0], base = k.mul(ivs[1], k.idx(rows));
    SmallVector<Value> clusterRows = clampedRows(k, base, rows, m);
    Value acc = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {cPad});
    Value p = fused ? k.scratch({rows, cols}, k.f32()) : Value();

    // Writes the real rows of this block to Y: `at(r, v)` for the column
    // vectors cc0 + v · width, v < count, scaled by 1 / sums[r] (fused).
    auto storeRows = [&](ArrayRef<Value> sums, Value cc0, int64_t count,
                         bool inBounds,
                         function_ref<Value(int64_t, int64_t)> at) {
      SmallVector<Value> inv;
      if (fused)
        for (int64_t r = 0; r < rows; ++r)
          inv.push_back(k.splat(k.divf(k.f32c(1.0), sums[r])));
      forValidRows(k, base, rows, m, [&](int64_t r, Value row) {
        for (int64_t v = 0; v < count; ++v) {
          Value a = at(r, v);
          if (fused)
            a = k.mulf(a, inv[r]);
          k.writeVec(a, y, {b, row, k.add(cc0, k.idx(v * vw))}, inBounds);
        }
      });
    };

    // One token tile [n0, n0 + cols): the online-softmax step (fused), then
    // acc += P · X per group of column vectors, the sums in registers.
    // Returns the rows' running (max, sum) pairs.
    auto tile = [&](Value n0, ValueRange state, bool first) {
      Value tn = k.minIdx(colsIdx, k.sub(n, n0));
      SmallVector<Value> next, corrections, sums;
      if (fused) {
        // Padding lanes read -inf so exp() makes them 0.
        for (const OnlineSoftmaxStep &step : onlineSoftmaxRows(
                 k, rows,
                 [&](int64_t r, Value j) {
                   return k.readVec(w, {b, clusterRows[r], k.add(n0, j)}, false,
                                    -kInf);
                 },
                 p, tn, state)) {
          next.append({step.max, step.sum});
          corrections.push_back(step.correction);
          sums.push_back(step.sum);
        }
      }
      auto weightAt = [&](int64_t r, Value j) -> Value {
        if (fused)
          return memref::LoadOp::create(k.b, k.loc, p, ValueRange{k.idx(r), j});
        return k.loadF32(w, {b, clusterRows[r], k.add(n0, j)});
      };
      auto groupBody = [&](Value cc0, int64_t count, bool inBounds) {
        SmallVector<Value> colsOf, init;
        for (int64_t v = 0; v < count; ++v)
          colsOf.push_back(k.add(cc0, k.idx(v * vw)));
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t v = 0; v < count; ++v) {
            if (first) {
              init.push_back(k.splat(0.0));
              continue;
            }
            Value a = k.readVec(acc, {k.idx(r), colsOf[v]}, true);
            init.push_back(fused ? k.mulf(a, k.splat(corrections[r])) : a);
          }
        SmallVector<Value> out =
            k.loop(zero, tn, k.idx(1), init,
                   [&](Value j, ValueRange a) -> SmallVector<Value> {
                     SmallVector<Value> src, next;
                     for (int64_t v = 0; v < count; ++v)
                       src.push_back(k.readVec(x, {b, k.add(n0, j), colsOf[v]},
                                               inBounds));
                     for (int64_t r = 0; r < rows; ++r) {
                       Value pj = k.splat(weightAt(r, j));
                       for (int64_t v = 0; v < count; ++v)
                         next.push_back(k.fma(pj, src[v], a[r * count + v]));
                     }
                     return next;
                   });
        auto keep = [&] {
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t v = 0; v < count; ++v)
              k.writeVec(out[r * count + v], acc, {k.idx(r), colsOf[v]}, true);
        };
        if (!first)
          return keep();
        auto ifOp = scf::IfOp::create(k.b, k.loc, oneTile, /*withElse=*/true);
        OpBuilder::InsertionGuard guard(k.b);
        k.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
        storeRows(sums, cc0, count, inBounds,
                  [&](int64_t r, int64_t v) { return out[r * count + v]; });
        k.b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
        keep();
      };
      // Whole vectors in groups that fill the register file, then the
      // ragged last vector, if any, with masked reads.
      forVectorGroups(k, cFull, group, [&](Value cc0, int64_t count) {
        groupBody(cc0, count, true);
      });
      k.loop(cFull, cPad, k.idx(vw),
             [&](Value cc0) { groupBody(cc0, 1, false); });
      return next;
    };

    SmallVector<Value> init;
    for (int64_t r = 0; r < rows; ++r)
      init.append({k.f32c(-kInf), k.f32c(0.0)});
    SmallVector<Value> firstStats = tile(zero, init, /*first=*/true);
    Value moreTiles = k.notI1(oneTile);
    k.ifThen(moreTiles, [&] {
      SmallVector<Value> stats =
          k.loop(colsIdx, n, colsIdx, firstStats,
                 [&](Value n0, ValueRange state) -> SmallVector<Value> {
                   return tile(n0, state, /*first=*/false);
                 });
      SmallVector<Value> sums;
      if (fused)
        for (int64_t r = 0; r < rows; ++r)
          sums.push_back(stats[2 * r + 1]);
      k.loop(zero, cPad, k.idx(vw), [&](Value cc) {
        storeRows(sums, cc, 1, false, [&](int64_t r, int64_t) {
          return k.readVec(acc, {k.idx(r), cc}, true);
        });
      });
    });
  });
  return k.toTensor(resultType, y);
}

//===----------------------------------------------------------------------===//
// soft_assign
//===----------------------------------------------------------------------===//

Value emitSoftAssign(KernelBuilder &k, SoftAssignOp op) {
  Value l = k.toBuffer(op.getLogits());
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  Value batch = k.dim(l, 0), m = k.dim(l, 1), n = k.dim(l, 2);
  Value z = k.alloc(type, dynamicSizes(type, {batch, m, n}));
  Value zero = k.idx(0), one = k.idx(1), vwIdx = k.idx(k.width);
  if (op.getAxis() == SoftAssignAxis::tokens) {
    // Rows are contiguous: max, sum of exp, then the normalised write.
    k.parallel({batch, m}, [&](ValueRange ivs) {
      Value b = ivs[0], row = ivs[1];
      auto logitsAt = [&](Value j) {
        return k.readVec(l, {b, row, j}, false, -kInf);
      };
      Value mx = maxOverVectors(k, n, logitsAt);
      Value mxVec = k.splat(mx);
      Value sum = sumExpOverVectors(k, n, mx, logitsAt);
      Value inv = k.splat(k.divf(k.f32c(1.0), sum));
      k.loop(zero, n, vwIdx, [&](Value j) {
        Value v = k.readVec(l, {b, row, j}, false, -kInf);
        k.writeVec(k.mulf(k.exp(k.subf(v, mxVec)), inv), z, {b, row, j}, false);
      });
    });
  } else {
    // Softmax over clusters: vectorise across tokens, loop over clusters.
    k.parallel({batch, k.ceilDiv(n, k.width)}, [&](ValueRange ivs) {
      Value b = ivs[0], j = k.mul(ivs[1], vwIdx);
      Value mx =
          k.loop(zero, m, one, {k.splat(-kInf)},
                 [&](Value c, ValueRange a) -> SmallVector<Value> {
                   return {k.maxf(a[0], k.readVec(l, {b, c, j}, false, -kInf))};
                 })[0];
      Value sum = k.loop(zero, m, one, {k.splat(0.0)},
                         [&](Value c, ValueRange a) -> SmallVector<Value> {
                           Value v = k.readVec(l, {b, c, j}, false, -kInf);
                           return {k.addf(a[0], k.exp(k.subf(v, mx)))};
                         })[0];
      Value inv = k.divf(k.splat(1.0), sum);
      k.loop(zero, m, one, [&](Value c) {
        Value v = k.readVec(l, {b, c, j}, false, -kInf);
        k.writeVec(k.mulf(k.exp(k.subf(v, mx)), inv), z, {b, c, j}, false);
      });
    });
  }
  return k.toTensor(type, z);
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

/// Kᵀ of every (b, h) as f32 [B, H, D, M padded to the width], zero in the
/// padding, so the score loop reads whole vectors of clusters.
Value transposeKeys(KernelBuilder &k, Value key, Value mPad) {
  Value batch = k.dim(key, 0), heads = k.dim(key, 1), m = k.dim(key, 2),
        d = k.dim(key, 3);
  Value kt = k.alloc({batch, heads, d, mPad}, k.f32());
  Value zero = k.idx(0), one = k.idx(1);
  k.parallel({batch, heads, mPad}, [&](ValueRange ivs) {
    Value b = ivs[0], h = ivs[1], j = ivs[2];
    Value valid =
        arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::slt, j, m);
    Value row = k.minIdx(j, k.sub(m, one));
    k.loop(zero, d, one, [&](Value dd) {
      Value v = k.loadF32(key, {b, h, row, dd});
      memref::StoreOp::create(k.b, k.loc, k.select(valid, v, k.f32c(0.0)), kt,
                              ValueRange{b, h, dd, j});
    });
  });
  return kt;
}

Value emitAttention(KernelBuilder &k, AttentionOp op, const TileConfig &tc) {
  Value q = k.toBuffer(op.getQ());
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  Value batch = k.dim(q, 0), heads = k.dim(q, 1), n = k.dim(q, 2),
        d = k.dim(q, 3);
  SmallVector<Value> keys, values, keysT, counts, countsPad;
  for (auto [key, value] : llvm::zip_equal(op.getKeys(), op.getValues())) {
    keys.push_back(k.toBuffer(key));
    values.push_back(k.toBuffer(value));
    counts.push_back(k.dim(keys.back(), 2));
    countsPad.push_back(k.padToWidth(counts.back()));
    keysT.push_back(transposeKeys(k, keys.back(), countsPad.back()));
  }
  Value dv = k.dim(values.front(), 3);
  Value o = k.alloc(type, dynamicSizes(type, {batch, heads, n, dv}));
  Value scale = attentionScale(k, op.getScale(), d);
  int64_t rows = tc.rows, cols = tc.cols, vw = k.width;
  Value zero = k.idx(0), vwIdx = k.idx(vw);
  Value dPad = k.padToWidth(d), dvPad = k.padToWidth(dv);
  // With one scale the normalised rows go straight to the output; several
  // add up in `total` first.
  bool oneScale = keys.size() == 1;

  k.parallel({batch, heads, k.ceilDiv(n, rows)}, [&](ValueRange ivs) {
    Value b = ivs[0], h = ivs[1], base = k.mul(ivs[2], k.idx(rows));
    SmallVector<Value> queryRows = clampedRows(k, base, rows, n);
    // The tile's queries, pre-scaled, in a buffer of their own: read from
    // q, the clamped row indices went into every broadcast's address and
    // LLVM recomputed them on each step of the score loop (a third of the
    // kernel's time). (Static head dims fold to a static shape.)
    Value qs = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {dPad});
    Value scaleVec = k.splat(scale);
    k.loop(zero, dPad, vwIdx, [&](Value cc) {
      for (int64_t r = 0; r < rows; ++r)
        k.writeVec(
            k.mulf(k.readVec(q, {b, h, queryRows[r], cc}, false), scaleVec), qs,
            {k.idx(r), cc}, true);
    });
    Value total;
    if (!oneScale) {
      total = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {dvPad});
      zeroRows(k, total, rows, dvPad);
    }
    Value acc = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {dvPad});
    Value p = k.scratch({rows, cols}, k.f32());
    for (size_t s = 0; s < keys.size(); ++s) {
      zeroRows(k, acc, rows, dvPad);
      Value m = counts[s], mPad = countsPad[s], kt = keysT[s], v = values[s];
      SmallVector<Value> init;
      for (int64_t r = 0; r < rows; ++r)
        init.append({k.f32c(-kInf), k.f32c(0.0)});
      SmallVector<Value> stats = k.loop(
          zero, mPad, k.idx(cols), init, [&](Value m0, ValueRange state) {
            Value tm = k.minIdx(k.idx(cols), k.sub(mPad, m0));
            // Scores of the tile: rows × (a group of cluster vectors) in
            // registers, accumulated over the head dim.
            forVectorGroups(
                k, tm, vectorsPerRow(k, rows), [&](Value mc, int64_t group) {
                  SmallVector<Value> accs = rowBlockReduce(
                      k, rows, group, d,
                      [&](Value dd, int64_t v) {
                        return k.readVec(
                            kt, {b, h, dd, k.add(m0, k.add(mc, k.idx(v * vw)))},
                            true);
                      },
                      [&](int64_t r, Value dd) {
                        return memref::LoadOp::create(k.b, k.loc, qs,
                                                      ValueRange{k.idx(r), dd});
                      },
                      [&](Value qv, Value kv, Value a) {
                        return k.fma(qv, kv, a);
                      });
                  for (int64_t v = 0; v < group; ++v) {
                    Value col = k.add(mc, k.idx(v * vw));
                    Value mask = k.laneMask(k.sub(m, k.add(m0, col)));
                    for (int64_t r = 0; r < rows; ++r)
                      k.writeVec(
                          k.select(mask, accs[r * group + v], k.splat(-kInf)),
                          p, {k.idx(r), col}, true);
                  }
                });
            // Online softmax (each tile holds at least one real cluster),
            // then acc = acc · correction + P · V over the tile's real
            // clusters.
            SmallVector<Value> next, corrections;
            for (const OnlineSoftmaxStep &step : onlineSoftmaxRows(
                     k, rows,
                     [&](int64_t r, Value j) {
                       return k.readVec(p, {k.idx(r), j}, true);
                     },
                     p, tm, state)) {
              next.append({step.max, step.sum});
              corrections.push_back(step.correction);
            }
            accumulateWeightedRows(
                k, acc, p, rows, dvPad, k.minIdx(tm, k.sub(m, m0)),
                [&](Value j, Value cc) {
                  return k.readVec(v, {b, h, k.add(m0, j), cc}, false);
                },
                corrections);
            return next;
          });
      if (oneScale) {
        forValidRows(k, base, rows, n, [&](int64_t r, Value row) {
          Value inv = k.splat(k.divf(k.f32c(1.0), stats[2 * r + 1]));
          k.loop(zero, dvPad, vwIdx, [&](Value cc) {
            Value a = k.readVec(acc, {k.idx(r), cc}, true);
            k.writeVec(k.mulf(a, inv), o, {b, h, row, cc}, false);
          });
        });
        break;
      }
      // Scales add their normalised outputs (no joint softmax).
      for (int64_t r = 0; r < rows; ++r) {
        Value inv = k.splat(k.divf(k.f32c(1.0), stats[2 * r + 1]));
        Value rIdx = k.idx(r);
        k.loop(zero, dvPad, vwIdx, [&](Value cc) {
          Value t = k.readVec(total, {rIdx, cc}, true);
          Value a = k.readVec(acc, {rIdx, cc}, true);
          k.writeVec(k.fma(a, inv, t), total, {rIdx, cc}, true);
        });
      }
    }
    if (oneScale)
      return;
    forValidRows(k, base, rows, n, [&](int64_t r, Value row) {
      k.loop(zero, dvPad, vwIdx, [&](Value cc) {
        k.writeVec(k.readVec(total, {k.idx(r), cc}, true), o, {b, h, row, cc},
                   false);
      });
    });
  });
  return k.toTensor(type, o);
}

//===----------------------------------------------------------------------===//
// Shared by kmeans and dpc_knn: nearest column, ties to the lower index
//===----------------------------------------------------------------------===//

/// For each of `rows` rows, the index of the smallest of `count` columns,
/// scanned a vector at a time; `distances(j)` gives the rows' distances to
/// columns [j, j + width). Ties go to the lower column.
SmallVector<Value>
argminColumns(KernelBuilder &k, int64_t rows, Value count, Value countPad,
              function_ref<SmallVector<Value>(Value)> distances) {
  OpBuilder &bld = k.b;
  Location loc = k.loc;
  Type idxVec = k.vecOf(bld.getIndexType());
  Value lane = vector::StepOp::create(bld, loc, idxVec);
  Value past = vector::BroadcastOp::create(bld, loc, idxVec, countPad);
  SmallVector<Value> init;
  for (int64_t r = 0; r < rows; ++r)
    init.append({k.f32c(kInf), k.idx(0)});
  SmallVector<Value> best = k.loop(
      k.idx(0), countPad, k.idx(k.width), init, [&](Value j, ValueRange a) {
        SmallVector<Value> d = distances(j);
        Value mask = k.laneMask(k.sub(count, j));
        Value ids = arith::AddIOp::create(
            bld, loc, vector::BroadcastOp::create(bld, loc, idxVec, j), lane);
        SmallVector<Value> out;
        for (int64_t r = 0; r < rows; ++r) {
          Value masked = k.select(mask, d[r], k.splat(kInf));
          Value chunkMin = k.reduce(CombiningKind::MINIMUMF, masked);
          Value atMin = arith::CmpFOp::create(
              bld, loc, arith::CmpFPredicate::OEQ, masked, k.splat(chunkMin));
          Value firstId =
              k.reduce(CombiningKind::MINSI, k.select(atMin, ids, past));
          Value better = arith::CmpFOp::create(
              bld, loc, arith::CmpFPredicate::OLT, chunkMin, a[2 * r]);
          out.append({k.select(better, chunkMin, a[2 * r]),
                      k.select(better, firstId, a[2 * r + 1])});
        }
        return out;
      });
  SmallVector<Value> ids;
  for (int64_t r = 0; r < rows; ++r)
    ids.push_back(best[2 * r + 1]);
  return ids;
}

/// The i32 entry `ids[indices]` as an index, and whether it is in
/// [0, bound): cluster ids of tokens, token ids of member slots.
std::pair<Value, Value> indexIn(KernelBuilder &k, Value ids, ValueRange indices,
                                Value bound) {
  OpBuilder &bld = k.b;
  Location loc = k.loc;
  Value a = memref::LoadOp::create(bld, loc, ids, indices);
  Value id = arith::IndexCastOp::create(bld, loc, bld.getIndexType(), a);
  // Negative i32 values become negative indices; one unsigned compare
  // rejects them together with ids >= clusters.
  Value valid =
      arith::CmpIOp::create(bld, loc, arith::CmpIPredicate::ult, id, bound);
  return {valid, id};
}

//===----------------------------------------------------------------------===//
// dpc_knn
//===----------------------------------------------------------------------===//

/// Squared distances (unnormalised) from `rows` tokens of X to one vector
/// of columns of `colsT` [B, C, cols padded], accumulated over channels.
SmallVector<Value> squaredDistances(KernelBuilder &k, Value x, Value colsT,
                                    Value b, ArrayRef<Value> tokenRows,
                                    Value col, Value c) {
  return rowBlockReduce(
      k, tokenRows.size(), c,
      [&](Value cc) { return k.readVec(colsT, {b, cc, col}, true); },
      [&](int64_t r, Value cc) { return k.loadF32(x, {b, tokenRows[r], cc}); },
      [&](Value xr, Value t, Value a) {
        Value diff = k.subf(xr, t);
        return k.fma(diff, diff, a);
      });
}

/// Lists of up to this many entries (dpc_knn's k nearest distances) are
/// unrolled into straight-line code, the fast path for the small k models
/// use. Longer ones are loops of dynamic length, so compile time and code
/// size do not grow with an attribute.
constexpr int64_t kMaxUnrolledList = 16;

/// Inserts `value` into the ascending list `list[0 .. len)`, dropping the
/// largest; branch-free over the list. `len` is a constant up to
/// kMaxUnrolledList (unrolled) or a dynamic index (an scf.for).
void insertSorted(KernelBuilder &k, Value list, OpFoldResult len, Value value) {
  OpBuilder &b = k.b;
  auto lt = [&](Value a, Value c) {
    return arith::CmpFOp::create(b, k.loc, arith::CmpFPredicate::OLT, a, c);
  };
  // Slot j takes slot j-1 when value ranks before it, value when it ranks
  // before slot j only, else keeps its own.
  auto step = [&](Value j, Value jm1) {
    Value prev = memref::LoadOp::create(b, k.loc, list, ValueRange{jm1});
    Value cur = memref::LoadOp::create(b, k.loc, list, ValueRange{j});
    Value placed = k.select(lt(value, cur), value, cur);
    Value next = k.select(lt(value, prev), prev, placed);
    memref::StoreOp::create(b, k.loc, next, list, ValueRange{j});
  };
  if (std::optional<int64_t> n = getConstantIntValue(len)) {
    for (int64_t j = *n - 1; j >= 1; --j)
      step(k.idx(j), k.idx(j - 1));
  } else {
    Value last = k.sub(cast<Value>(len), k.idx(1));
    k.loop(k.idx(0), last, k.idx(1), [&](Value t) {
      Value j = k.sub(last, t);
      step(j, k.sub(j, k.idx(1)));
    });
  }
  Value first = memref::LoadOp::create(b, k.loc, list, ValueRange{k.idx(0)});
  memref::StoreOp::create(b, k.loc, k.minf(first, value), list,
                          ValueRange{k.idx(0)});
}

std::pair<Value, Value> emitDpcKnn(KernelBuilder &k, DpcKnnOp op,
                                   const TileConfig &tc) {
  OpBuilder &bld = k.b;
  Location loc = k.loc;
  Value x = k.toBuffer(op.getX());
  auto assignType = cast<RankedTensorType>(op.getAssign().getType());
  auto centersType = cast<RankedTensorType>(op.getCenters().getType());
  ArrayRef<int64_t> scales = op.getClusters();
  int64_t numScales = scales.size();
  int64_t maxM = *llvm::max_element(scales);
  int64_t kNearest = op.getK();
  int64_t rows = tc.rows, vw = k.width;
  Value batch = k.dim(x, 0), n = k.dim(x, 1), c = k.dim(x, 2);
  Value zero = k.idx(0), one = k.idx(1), vwIdx = k.idx(vw);
  Value nPad = k.padToWidth(n);
  Value cF = arith::UIToFPOp::create(
      bld, loc, k.f32(),
      arith::IndexCastUIOp::create(bld, loc, bld.getI64Type(), c));
  auto cmpf = [&](arith::CmpFPredicate pred, Value a, Value b2) {
    return arith::CmpFOp::create(bld, loc, pred, a, b2);
  };
  auto cmpi = [&](arith::CmpIPredicate pred, Value a, Value b2) {
    return arith::CmpIOp::create(bld, loc, pred, a, b2);
  };

  // Xᵀ [B, C, N padded], zero padded: the column side of every distance.
  Value xT = k.alloc({batch, c, nPad}, k.f32());
  k.parallel({batch, nPad}, [&](ValueRange ivs) {
    Value b = ivs[0], j = ivs[1];
    Value valid = cmpi(arith::CmpIPredicate::slt, j, n);
    Value row = k.minIdx(j, k.sub(n, one));
    k.loop(zero, c, one, [&](Value cc) {
      memref::StoreOp::create(
          bld, loc, k.select(valid, k.loadF32(x, {b, row, cc}), k.f32c(0.0)),
          xT, ValueRange{b, cc, j});
    });
  });

  // Phase 1: density from a running k-smallest per row; row max distance.
  //
  // Up to kMaxUnrolledList the list has k slots and straight-line inserts.
  // Past it, the list has k slots (a loop) when k < N; when k >= N the
  // density is over every distance, summed as they stream by, and there is
  // no list: compile time and stack use never grow with k.
  Value rho = k.alloc({batch, nPad}, k.f32());
  Value rowMax = k.alloc({batch, n}, k.f32());
  Value kk = k.minIdx(k.idx(kNearest), n);
  Value kkF = arith::UIToFPOp::create(
      bld, loc, k.f32(),
      arith::IndexCastUIOp::create(bld, loc, bld.getI64Type(), kk));
  bool unrolledList = kNearest <= kMaxUnrolledList;
  Value takeAll, listLen;
  if (!unrolledList) {
    takeAll = cmpi(arith::CmpIPredicate::sge, k.idx(kNearest), n);
    listLen = k.select(takeAll, one, k.idx(kNearest));
  }
  OpFoldResult listSize =
      unrolledList ? OpFoldResult(bld.getIndexAttr(kNearest)) : listLen;
  k.parallel({batch, k.ceilDiv(n, rows)}, [&](ValueRange ivs) {
    Value b = ivs[0], base = k.mul(ivs[1], k.idx(rows));
    SmallVector<Value> tokenRows = clampedRows(k, base, rows, n);
    SmallVector<Value> lists;
    for (int64_t r = 0; r < rows; ++r) {
      if (unrolledList) {
        lists.push_back(k.scratch({kNearest}, k.f32()));
        for (int64_t t = 0; t < kNearest; ++t)
          memref::StoreOp::create(bld, loc, k.f32c(kInf), lists.back(),
                                  ValueRange{k.idx(t)});
        continue;
      }
      // On the heap: k slots per row would overflow a worker's stack long
      // before N does.
      lists.push_back(k.alloc({listLen}, k.f32()));
      k.loop(zero, listLen, one, [&](Value t) {
        memref::StoreOp::create(bld, loc, k.f32c(kInf), lists.back(),
                                ValueRange{t});
      });
    }
    Value lastSlot =
        k.sub(getValueOrCreateConstantIndexOp(bld, loc, listSize), one);
    Value lanes = k.scratch({vw}, k.f32());
    // Per row: the running max distance, and past the unrolled lists the
    // running sum of all distances.
    SmallVector<Value> init(rows, k.splat(0.0));
    if (!unrolledList)
      init.append(rows, k.splat(0.0));
    SmallVector<Value> running =
        k.loop(zero, nPad, vwIdx, init, [&](Value j, ValueRange a) {
          SmallVector<Value> d2 =
              squaredDistances(k, x, xT, b, tokenRows, j, c);
          Value nValid = k.sub(n, j);
          Value mask = k.laneMask(nValid);
          SmallVector<Value> out, sums;
          for (int64_t r = 0; r < rows; ++r) {
            Value masked = k.select(mask, d2[r], k.splat(kInf));
            Value worst = memref::LoadOp::create(bld, loc, lists[r],
                                                 ValueRange{lastSlot});
            Value any =
                k.reduce(CombiningKind::OR, cmpf(arith::CmpFPredicate::OLT,
                                                 masked, k.splat(worst)));
            if (!unrolledList)
              any = k.andI1(any, k.notI1(takeAll));
            // Rarely taken once the list fills: insert lane by lane.
            k.ifThen(any, [&] {
              k.writeVec(masked, lanes, {zero}, true);
              k.loop(zero, vwIdx, one, [&](Value l) {
                Value v = memref::LoadOp::create(bld, loc, lanes, l);
                insertSorted(k, lists[r], listSize, v);
              });
            });
            Value present = k.select(mask, d2[r], k.splat(0.0));
            out.push_back(k.maxf(a[r], present));
            if (!unrolledList)
              sums.push_back(k.addf(a[rows + r], present));
          }
          out.append(sums);
          return out;
        });
    ArrayRef<Value> maxes(running.data(), rows);
    forValidRows(k, base, rows, n, [&](int64_t r, Value row) {
      // The listed distances; with k >= N past the unrolled lists, none
      // (the list has one slot) and the sum of all distances instead.
      Value listed = unrolledList ? kk : k.select(takeAll, zero, kk);
      Value sum = k.loop(zero, listed, one, {k.f32c(0.0)},
                         [&](Value t, ValueRange a) -> SmallVector<Value> {
                           Value v =
                               memref::LoadOp::create(bld, loc, lists[r], t);
                           return {k.addf(a[0], v)};
                         })[0];
      if (!unrolledList)
        sum = k.select(takeAll, k.reduce(CombiningKind::ADD, running[rows + r]),
                       sum);
      Value meanD2 = k.divf(sum, k.mulf(kkF, cF));
      memref::StoreOp::create(bld, loc,
                              k.exp(arith::NegFOp::create(bld, loc, meanD2)),
                              rho, ValueRange{b, row});
      memref::StoreOp::create(bld, loc,
                              k.reduce(CombiningKind::MAXIMUMF, maxes[r]),
                              rowMax, ValueRange{b, row});
    });
  });

  // Global max distance per batch item; padding tokens are never denser.
  Value globalMax = k.alloc({batch}, k.f32());
  k.parallel({batch}, [&](ValueRange ivs) {
    Value b = ivs[0];
    Value g = k.loop(zero, n, one, {k.f32c(0.0)},
                     [&](Value i, ValueRange a) -> SmallVector<Value> {
                       Value v = memref::LoadOp::create(bld, loc, rowMax,
                                                        ValueRange{b, i});
                       return {k.maxf(a[0], v)};
                     })[0];
    memref::StoreOp::create(bld, loc, g, globalMax, ValueRange{b});
    k.loop(n, nPad, one, [&](Value j) {
      memref::StoreOp::create(bld, loc, k.f32c(-kInf), rho, ValueRange{b, j});
    });
  });

  // Phase 2: δ = distance to the nearest denser token (running min).
  Value score = k.alloc({batch, n}, k.f32());
  k.parallel({batch, k.ceilDiv(n, rows)}, [&](ValueRange ivs) {
    Value b = ivs[0], base = k.mul(ivs[1], k.idx(rows));
    SmallVector<Value> tokenRows = clampedRows(k, base, rows, n);
    SmallVector<Value> rhoRow, rowIdx;
    Type idxVec = k.vecOf(bld.getIndexType());
    for (int64_t r = 0; r < rows; ++r) {
      rhoRow.push_back(
          memref::LoadOp::create(bld, loc, rho, ValueRange{b, tokenRows[r]}));
      rowIdx.push_back(
          vector::BroadcastOp::create(bld, loc, idxVec, tokenRows[r]));
    }
    Value lane = vector::StepOp::create(bld, loc, idxVec);
    SmallVector<Value> minInit(rows, k.splat(kInf));
    SmallVector<Value> mins =
        k.loop(zero, nPad, vwIdx, minInit, [&](Value j, ValueRange a) {
          SmallVector<Value> d2 =
              squaredDistances(k, x, xT, b, tokenRows, j, c);
          Value rhoJ = k.readVec(rho, {b, j}, true);
          Value jIdx = arith::AddIOp::create(
              bld, loc, vector::BroadcastOp::create(bld, loc, idxVec, j), lane);
          SmallVector<Value> out;
          for (int64_t r = 0; r < rows; ++r) {
            Value rhoI = k.splat(rhoRow[r]);
            Value denser = arith::OrIOp::create(
                bld, loc, cmpf(arith::CmpFPredicate::OGT, rhoJ, rhoI),
                arith::AndIOp::create(
                    bld, loc, cmpf(arith::CmpFPredicate::OEQ, rhoJ, rhoI),
                    cmpi(arith::CmpIPredicate::slt, jIdx, rowIdx[r])));
            out.push_back(k.minf(a[r], k.select(denser, d2[r], k.splat(kInf))));
          }
          return out;
        });
    Value g = memref::LoadOp::create(bld, loc, globalMax, ValueRange{b});
    forValidRows(k, base, rows, n, [&](int64_t r, Value row) {
      Value dmin = k.reduce(CombiningKind::MINIMUMF, mins[r]);
      Value none = cmpf(arith::CmpFPredicate::OEQ, dmin, k.f32c(kInf));
      Value delta2 = k.select(none, g, dmin);
      Value delta = math::SqrtOp::create(bld, loc, k.divf(delta2, cF));
      memref::StoreOp::create(bld, loc, k.mulf(rhoRow[r], delta), score,
                              ValueRange{b, row});
    });
  });

  // Phase 3: the max M scores, descending, ties to the lower index (a
  // sorted insertion that places a new score after equal ones). Scale s
  // uses the first M_s.
  Value maxMPad = k.idx((maxM + vw - 1) / vw * vw);
  Value centers = k.alloc(
      centersType,
      dynamicSizes(centersType, {batch, k.idx(numScales), k.idx(maxM)}));
  Value centersT = k.alloc({batch, c, maxMPad}, k.f32());
  // The running list lives on the heap and is filled and read by loops:
  // max M is an attribute that may be as large as N.
  Value vals = k.alloc({batch, k.idx(maxM)}, k.f32());
  Value ids = k.alloc({batch, k.idx(maxM)}, bld.getIndexType());
  k.parallel({batch}, [&](ValueRange ivs) {
    Value b = ivs[0];
    k.loop(zero, k.idx(maxM), one, [&](Value t) {
      memref::StoreOp::create(bld, loc, k.f32c(-kInf), vals, ValueRange{b, t});
      memref::StoreOp::create(bld, loc, zero, ids, ValueRange{b, t});
    });
    k.loop(zero, n, one, [&](Value i) {
      Value s = memref::LoadOp::create(bld, loc, score, ValueRange{b, i});
      Value last = memref::LoadOp::create(bld, loc, vals,
                                          ValueRange{b, k.idx(maxM - 1)});
      k.ifThen(cmpf(arith::CmpFPredicate::OGT, s, last), [&] {
        // Shift down every entry below s, one slot at a time from the end.
        Value lastSlot = k.idx(maxM - 1);
        k.loop(zero, lastSlot, one, [&](Value t) {
          Value j = k.sub(lastSlot, t);
          Value jm1 = k.sub(j, one);
          Value prev =
              memref::LoadOp::create(bld, loc, vals, ValueRange{b, jm1});
          Value cur = memref::LoadOp::create(bld, loc, vals, ValueRange{b, j});
          Value prevId =
              memref::LoadOp::create(bld, loc, ids, ValueRange{b, jm1});
          Value curId = memref::LoadOp::create(bld, loc, ids, ValueRange{b, j});
          Value shift = cmpf(arith::CmpFPredicate::OLT, prev, s);
          Value place = cmpf(arith::CmpFPredicate::OLT, cur, s);
          memref::StoreOp::create(
              bld, loc, k.select(shift, prev, k.select(place, s, cur)), vals,
              ValueRange{b, j});
          memref::StoreOp::create(
              bld, loc, k.select(shift, prevId, k.select(place, i, curId)), ids,
              ValueRange{b, j});
        });
        Value first =
            memref::LoadOp::create(bld, loc, vals, ValueRange{b, zero});
        Value firstId =
            memref::LoadOp::create(bld, loc, ids, ValueRange{b, zero});
        Value place = cmpf(arith::CmpFPredicate::OLT, first, s);
        memref::StoreOp::create(bld, loc, k.select(place, s, first), vals,
                                ValueRange{b, zero});
        memref::StoreOp::create(bld, loc, k.select(place, i, firstId), ids,
                                ValueRange{b, zero});
      });
    });
    for (int64_t s = 0; s < numScales; ++s) {
      k.loop(zero, k.idx(scales[s]), one, [&](Value t) {
        Value id = memref::LoadOp::create(bld, loc, ids, ValueRange{b, t});
        memref::StoreOp::create(
            bld, loc,
            arith::IndexCastOp::create(bld, loc, bld.getI32Type(), id), centers,
            ValueRange{b, k.idx(s), t});
      });
      k.loop(k.idx(scales[s]), k.idx(maxM), one, [&](Value t) {
        memref::StoreOp::create(bld, loc, k.i32(-1), centers,
                                ValueRange{b, k.idx(s), t});
      });
    }
    k.loop(zero, maxMPad, one, [&](Value t) {
      Value valid = cmpi(arith::CmpIPredicate::slt, t, k.idx(maxM));
      Value id = memref::LoadOp::create(
          bld, loc, ids, ValueRange{b, k.minIdx(t, k.idx(maxM - 1))});
      k.loop(zero, c, one, [&](Value cc) {
        Value v = k.loadF32(x, {b, id, cc});
        memref::StoreOp::create(bld, loc, k.select(valid, v, k.f32c(0.0)),
                                centersT, ValueRange{b, cc, t});
      });
    });
  });

  // Phase 4: nearest centre per token and scale (ties to the lower m),
  // then every centre is forced into its own cluster.
  Value assign = k.alloc(
      assignType, dynamicSizes(assignType, {batch, k.idx(numScales), n}));
  k.parallel({batch, k.ceilDiv(n, rows)}, [&](ValueRange ivs) {
    Value b = ivs[0], base = k.mul(ivs[1], k.idx(rows));
    SmallVector<Value> tokenRows = clampedRows(k, base, rows, n);
    for (int64_t s = 0; s < numScales; ++s) {
      Value mS = k.idx(scales[s]);
      Value mPad = k.idx((scales[s] + vw - 1) / vw * vw);
      SmallVector<Value> best = argminColumns(k, rows, mS, mPad, [&](Value j) {
        return squaredDistances(k, x, centersT, b, tokenRows, j, c);
      });
      forValidRows(k, base, rows, n, [&](int64_t r, Value row) {
        memref::StoreOp::create(
            bld, loc,
            arith::IndexCastOp::create(bld, loc, bld.getI32Type(), best[r]),
            assign, ValueRange{b, k.idx(s), row});
      });
    }
  });
  k.parallel({batch}, [&](ValueRange ivs) {
    Value b = ivs[0];
    for (int64_t s = 0; s < numScales; ++s)
      k.loop(zero, k.idx(scales[s]), one, [&](Value t) {
        Value id = arith::IndexCastOp::create(
            bld, loc, bld.getIndexType(),
            memref::LoadOp::create(bld, loc, centers,
                                   ValueRange{b, k.idx(s), t}));
        memref::StoreOp::create(
            bld, loc, arith::IndexCastOp::create(bld, loc, bld.getI32Type(), t),
            assign, ValueRange{b, k.idx(s), id});
      });
  });
  return {k.toTensor(assignType, assign), k.toTensor(centersType, centers)};
}

//===----------------------------------------------------------------------===//
// Segment reductions: aggregate and the kmeans centroid update
//===----------------------------------------------------------------------===//

/// Σ_{assign[n]=m} w_n X[n] for every cluster, with w = 1 when `weights` is
/// null. Work is split by channel vectors, so threads own disjoint columns
/// of `sums` [B, M, C padded] and the scatter needs no atomics; the weight
/// totals [B, M] are one cheap pass per batch item. `finish(b, m, cc, sum,
/// total)` consumes each summed vector.
void segmentSums(KernelBuilder &k, Value x, Value assign, Value weights,
                 Value clusters,
                 function_ref<void(Value, Value, Value, Value, Value)> finish) {
  OpBuilder &bld = k.b;
  Location loc = k.loc;
  Value batch = k.dim(x, 0), n = k.dim(x, 1), c = k.dim(x, 2);
  Value zero = k.idx(0), one = k.idx(1), vwIdx = k.idx(k.width);
  Value cPad = k.padToWidth(c);
  Value totals = k.alloc({batch, clusters}, k.f32());
  Value sums = k.alloc({batch, clusters, cPad}, k.f32());
  auto weightOf = [&](Value b, Value t) {
    return weights ? k.loadF32(weights, {b, t}) : k.f32c(1.0);
  };
  k.parallel({batch}, [&](ValueRange ivs) {
    Value b = ivs[0];
    k.loop(zero, clusters, one, [&](Value m) {
      memref::StoreOp::create(bld, loc, k.f32c(0.0), totals, ValueRange{b, m});
    });
    k.loop(zero, n, one, [&](Value t) {
      Value valid, m;
      std::tie(valid, m) = indexIn(k, assign, {b, t}, clusters);
      k.ifThen(valid, [&] {
        Value old = memref::LoadOp::create(bld, loc, totals, ValueRange{b, m});
        memref::StoreOp::create(bld, loc, k.addf(old, weightOf(b, t)), totals,
                                ValueRange{b, m});
      });
    });
  });
  k.parallel({batch, k.ceilDiv(c, k.width)}, [&](ValueRange ivs) {
    Value b = ivs[0], cc = k.mul(ivs[1], vwIdx);
    k.loop(zero, clusters, one,
           [&](Value m) { k.writeVec(k.splat(0.0), sums, {b, m, cc}, true); });
    k.loop(zero, n, one, [&](Value t) {
      Value valid, m;
      std::tie(valid, m) = indexIn(k, assign, {b, t}, clusters);
      k.ifThen(valid, [&] {
        Value row = k.readVec(x, {b, t, cc}, false);
        Value old = k.readVec(sums, {b, m, cc}, true);
        Value next = weights ? k.fma(k.splat(weightOf(b, t)), row, old)
                             : k.addf(old, row);
        k.writeVec(next, sums, {b, m, cc}, true);
      });
    });
    k.loop(zero, clusters, one, [&](Value m) {
      Value total = memref::LoadOp::create(bld, loc, totals, ValueRange{b, m});
      finish(b, m, cc, k.readVec(sums, {b, m, cc}, true), total);
    });
  });
}

Value emitAggregate(KernelBuilder &k, AggregateOp op) {
  Value x = k.toBuffer(op.getX()), assign = k.toBuffer(op.getAssign());
  Value weights = op.getWeights() ? k.toBuffer(op.getWeights()) : Value();
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  Value clusters = k.idx(op.getClusters());
  Value y =
      k.alloc(type, dynamicSizes(type, {k.dim(x, 0), clusters, k.dim(x, 2)}));
  Reduction reduction = op.getReduction();
  Value eps = k.f32c(op.getEps().convertToDouble());
  segmentSums(k, x, assign, weights, clusters,
              [&](Value b, Value m, Value cc, Value sum, Value total) {
                if (reduction == Reduction::mean)
                  sum = k.divf(sum, k.splat(k.maxf(total, k.f32c(1.0))));
                else if (reduction == Reduction::weighted_mean)
                  sum = k.divf(sum, k.splat(k.addf(total, eps)));
                k.writeVec(sum, y, {b, m, cc}, false);
              });
  return k.toTensor(type, y);
}

//===----------------------------------------------------------------------===//
// broadcast
//===----------------------------------------------------------------------===//

Value emitBroadcast(KernelBuilder &k, BroadcastOp op) {
  Value y = k.toBuffer(op.getY()), assign = k.toBuffer(op.getAssign());
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  Value batch = k.dim(y, 0), clusters = k.dim(y, 1), c = k.dim(y, 2),
        n = k.dim(assign, 1);
  Value x = k.alloc(type, dynamicSizes(type, {batch, n, c}));
  Value zero = k.idx(0), vwIdx = k.idx(k.width);
  k.parallel({batch, n}, [&](ValueRange ivs) {
    Value b = ivs[0], t = ivs[1];
    Value valid, m;
    std::tie(valid, m) = indexIn(k, assign, {b, t}, clusters);
    Value cPad = k.padToWidth(c);
    k.ifThen(valid, [&] {
      k.loop(zero, cPad, vwIdx, [&](Value cc) {
        k.writeVec(k.readVec(y, {b, m, cc}, false), x, {b, t, cc}, false);
      });
    });
    k.ifThen(k.notI1(valid), [&] {
      k.loop(zero, cPad, vwIdx,
             [&](Value cc) { k.writeVec(k.splat(0.0), x, {b, t, cc}, false); });
    });
  });
  return k.toTensor(type, x);
}

//===----------------------------------------------------------------------===//
// kmeans
//===----------------------------------------------------------------------===//

/// The f32 vectors of row `row` of `src` divided by max(‖row‖, 1e-12),
/// handed to `use(cc, vector)` one at a time (kmeans' cosine rows).
void forNormalisedRow(KernelBuilder &k, Value src, ValueRange rowIdx, Value c,
                      function_ref<void(Value, Value)> use) {
  Value zero = k.idx(0), vwIdx = k.idx(k.width), cPad = k.padToWidth(c);
  auto at = [&](Value cc) {
    SmallVector<Value> idx(rowIdx);
    idx.push_back(cc);
    return idx;
  };
  Value sumSq =
      k.reduce(CombiningKind::ADD,
               k.loop(zero, cPad, vwIdx, {k.splat(0.0)},
                      [&](Value cc, ValueRange a) -> SmallVector<Value> {
                        Value v = k.readVec(src, at(cc), false);
                        return {k.fma(v, v, a[0])};
                      })[0]);
  Value norm =
      k.splat(k.maxf(math::SqrtOp::create(k.b, k.loc, sumSq), k.f32c(1e-12)));
  k.loop(zero, cPad, vwIdx, [&](Value cc) {
    use(cc, k.divf(k.readVec(src, at(cc), false), norm));
  });
}

std::pair<Value, Value> emitKMeans(KernelBuilder &k, KMeansOp op,
                                   const TileConfig &tc) {
  OpBuilder &bld = k.b;
  Location loc = k.loc;
  Value x = k.toBuffer(op.getX());
  auto assignType = cast<RankedTensorType>(op.getAssign().getType());
  auto centroidsType = cast<RankedTensorType>(op.getCentroids().getType());
  bool cosine = op.getMetric() == KMeansMetric::cosine;
  int64_t numClusters = op.getClusters(), rows = tc.rows, vw = k.width;
  Value batch = k.dim(x, 0), n = k.dim(x, 1), c = k.dim(x, 2);
  Value clusters = k.idx(numClusters);
  Value mPad = k.idx((numClusters + vw - 1) / vw * vw);
  Value zero = k.idx(0), one = k.idx(1), vwIdx = k.idx(vw);
  Value cPad = k.padToWidth(c);

  // Cosine distances and updates both use the normalised token rows.
  Value points = x;
  if (cosine) {
    points = k.alloc({batch, n, c}, k.f32());
    k.parallel({batch, n}, [&](ValueRange ivs) {
      forNormalisedRow(k, x, ivs, c, [&](Value cc, Value v) {
        k.writeVec(v, points, {ivs[0], ivs[1], cc}, false);
      });
    });
  }

  // μ⁰: `init`, or X[floor(m·N/M)] (zero when N = 0 leaves no row).
  Value mu = k.alloc({batch, clusters, c}, k.f32());
  Value init = op.getInit() ? k.toBuffer(op.getInit()) : Value();
  k.parallel({batch, clusters}, [&](ValueRange ivs) {
    Value b = ivs[0], m = ivs[1];
    Value src = init, row = m;
    Value valid = k.cmpi(arith::CmpIPredicate::slt, m, clusters);
    if (!init) {
      src = x;
      row = arith::DivUIOp::create(bld, loc, k.mul(m, n), clusters);
      valid = k.cmpi(arith::CmpIPredicate::slt, row, n);
    }
    k.ifThen(valid, [&] {
      k.loop(zero, cPad, vwIdx, [&](Value cc) {
        k.writeVec(k.readVec(src, {b, row, cc}, false), mu, {b, m, cc}, false);
      });
    });
    k.ifThen(k.notI1(valid), [&] {
      k.loop(zero, cPad, vwIdx, [&](Value cc) {
        k.writeVec(k.splat(0.0), mu, {b, m, cc}, false);
      });
    });
  });

  Value assign = k.alloc(assignType, dynamicSizes(assignType, {batch, n}));
  Value muT = k.alloc({batch, c, mPad}, k.f32());
  k.loop(zero, k.idx(op.getIterations()), one, [&](Value) {
    // μᵀ (normalised for cosine), zero padded: the column side of the
    // distances, as in dpc_knn.
    k.parallel({batch, mPad}, [&](ValueRange ivs) {
      Value b = ivs[0], j = ivs[1];
      Value valid = k.cmpi(arith::CmpIPredicate::slt, j, clusters);
      Value row = k.minIdx(j, k.sub(clusters, one));
      auto store = [&](Value cc, Value v) {
        memref::StoreOp::create(bld, loc, k.select(valid, v, k.f32c(0.0)), muT,
                                ValueRange{b, cc, j});
      };
      if (!cosine) {
        k.loop(zero, c, one,
               [&](Value cc) { store(cc, k.loadF32(mu, {b, row, cc})); });
        return;
      }
      Value lanes = k.scratch({vw}, k.f32());
      forNormalisedRow(k, mu, {b, row}, c, [&](Value cc, Value v) {
        k.writeVec(v, lanes, {zero}, true);
        k.loop(zero, k.minIdx(vwIdx, k.sub(c, cc)), one, [&](Value l) {
          store(k.add(cc, l),
                memref::LoadOp::create(bld, loc, lanes, ValueRange{l}));
        });
      });
    });
    // Assignment: nearest centroid per token, ties to the lower cluster.
    k.parallel({batch, k.ceilDiv(n, rows)}, [&](ValueRange ivs) {
      Value b = ivs[0], base = k.mul(ivs[1], k.idx(rows));
      SmallVector<Value> tokenRows = clampedRows(k, base, rows, n);
      SmallVector<Value> ids =
          argminColumns(k, rows, clusters, mPad, [&](Value j) {
            if (!cosine)
              return squaredDistances(k, points, muT, b, tokenRows, j, c);
            SmallVector<Value> dots = rowBlockReduce(
                k, rows, c,
                [&](Value cc) { return k.readVec(muT, {b, cc, j}, true); },
                [&](int64_t r, Value cc) {
                  return k.loadF32(points, {b, tokenRows[r], cc});
                },
                [&](Value xr, Value t, Value a) { return k.fma(xr, t, a); });
            for (Value &d : dots)
              d = k.subf(k.splat(1.0), d);
            return dots;
          });
      forValidRows(k, base, rows, n, [&](int64_t r, Value row) {
        memref::StoreOp::create(
            bld, loc,
            arith::IndexCastOp::create(bld, loc, bld.getI32Type(), ids[r]),
            assign, ValueRange{b, row});
      });
    });
    // Update: the mean of each cluster's rows; an empty cluster stays.
    segmentSums(k, points, assign, Value(), clusters,
                [&](Value b, Value m, Value cc, Value sum, Value total) {
                  Value old = k.readVec(mu, {b, m, cc}, false);
                  Value mean = k.divf(sum, k.splat(total));
                  Value nonEmpty =
                      k.cmpf(arith::CmpFPredicate::OGT, total, k.f32c(0.0));
                  k.writeVec(k.select(nonEmpty, mean, old), mu, {b, m, cc},
                             false);
                });
  });

  Value centroids =
      k.alloc(centroidsType, dynamicSizes(centroidsType, {batch, clusters, c}));
  k.parallel({batch, clusters}, [&](ValueRange ivs) {
    k.loop(zero, cPad, vwIdx, [&](Value cc) {
      k.writeVec(k.readVec(mu, {ivs[0], ivs[1], cc}, false), centroids,
                 {ivs[0], ivs[1], cc}, false);
    });
  });
  return {k.toTensor(assignType, assign), k.toTensor(centroidsType, centroids)};
}

//===----------------------------------------------------------------------===//
// topk_members
//===----------------------------------------------------------------------===//

/// Inserts token `id` with affinity `v` into lane `lane` of the ranked
/// lists vals/ids [κ, width] (descending, ties to the lower token, empty
/// slots hold id -1 at the end). Tokens arrive in increasing order, so the
/// new one goes after every equal value already listed.
void insertRanked(KernelBuilder &k, Value vals, Value ids, int64_t capacity,
                  Value lane, Value v, Value id) {
  OpBuilder &bld = k.b;
  Location loc = k.loc;
  auto ranksBefore = [&](Value slotVal, Value slotId) {
    return k.orI1(k.cmpf(arith::CmpFPredicate::OGT, v, slotVal),
                  k.cmpi(arith::CmpIPredicate::slt, slotId, k.i32(0)));
  };
  Value last = k.idx(capacity - 1), one = k.idx(1);
  // From the end: slot j takes slot j-1 while the new token ranks before
  // it, the new token at the first slot it ranks before, else stays.
  k.loop(k.idx(0), last, one, [&](Value t) {
    Value j = k.sub(last, t), jm1 = k.sub(j, one);
    Value prev = memref::LoadOp::create(bld, loc, vals, ValueRange{jm1, lane});
    Value prevId = memref::LoadOp::create(bld, loc, ids, ValueRange{jm1, lane});
    Value cur = memref::LoadOp::create(bld, loc, vals, ValueRange{j, lane});
    Value curId = memref::LoadOp::create(bld, loc, ids, ValueRange{j, lane});
    Value shift = ranksBefore(prev, prevId), place = ranksBefore(cur, curId);
    memref::StoreOp::create(bld, loc,
                            k.select(shift, prev, k.select(place, v, cur)),
                            vals, ValueRange{j, lane});
    memref::StoreOp::create(bld, loc,
                            k.select(shift, prevId, k.select(place, id, curId)),
                            ids, ValueRange{j, lane});
  });
  Value zero = k.idx(0);
  Value first = memref::LoadOp::create(bld, loc, vals, ValueRange{zero, lane});
  Value firstId = memref::LoadOp::create(bld, loc, ids, ValueRange{zero, lane});
  Value place = ranksBefore(first, firstId);
  memref::StoreOp::create(bld, loc, k.select(place, v, first), vals,
                          ValueRange{zero, lane});
  memref::StoreOp::create(bld, loc, k.select(place, id, firstId), ids,
                          ValueRange{zero, lane});
}

/// The largest capacity whose ranked lists live on the stack (64 KiB of
/// lists at 16 lanes); CAST's capacities (64-512) stay there.
constexpr int64_t kMaxStackCapacity = 512;

/// Per vector of clusters, one pass over the tokens keeps a running top-κ
/// per cluster: O(N·M) compares plus O(κ) per insertion, O(M·κ) memory,
/// instead of the O(N²·M) ranks of the reference lowering. A vector
/// compare against each list's last entry skips tokens that rank nowhere.
Value emitTopKMembers(KernelBuilder &k, TopKMembersOp op) {
  OpBuilder &bld = k.b;
  Location loc = k.loc;
  Value g = k.toBuffer(op.getG());
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t capacity = op.getCapacity(), vw = k.width;
  bool exclusive = op.getExclusive();
  Value batch = k.dim(g, 0), n = k.dim(g, 1), clusters = k.dim(g, 2);
  Value members =
      k.alloc(type, dynamicSizes(type, {batch, clusters, k.idx(capacity)}));
  Value zero = k.idx(0), one = k.idx(1), vwIdx = k.idx(vw);
  Type i32 = bld.getI32Type();
  VectorType i32Vec = k.vecOf(i32);
  Value laneI32 = vector::StepOp::create(bld, loc, k.vecOf(bld.getIndexType()));
  laneI32 = arith::IndexCastOp::create(bld, loc, i32Vec, laneI32);

  // SA-Top-K: each token's owner, argmax_m G[n, m] with ties to the lower m.
  Value owner;
  if (exclusive) {
    owner = k.alloc({batch, n}, i32);
    Value mPad = k.padToWidth(clusters);
    k.parallel({batch, n}, [&](ValueRange ivs) {
      Value b = ivs[0], t = ivs[1];
      SmallVector<Value> ids =
          argminColumns(k, 1, clusters, mPad, [&](Value j) {
            Value v = k.readVec(g, {b, t, j}, false, -kInf);
            return SmallVector<Value>{arith::NegFOp::create(bld, loc, v)};
          });
      memref::StoreOp::create(bld, loc,
                              arith::IndexCastOp::create(bld, loc, i32, ids[0]),
                              owner, ValueRange{b, t});
    });
  }

  // The ranked lists [κ, width] are stack scratch up to kMaxStackCapacity
  // slots; past it, κ (an attribute) could overflow a thread's stack, so
  // each iteration takes its own slice of a heap buffer
  // [B, blocks, κ, width].
  Value blocks = k.ceilDiv(clusters, vw);
  Value heapVals, heapIds;
  if (capacity > kMaxStackCapacity) {
    heapVals = k.alloc({batch, blocks, k.idx(capacity), vwIdx}, k.f32());
    heapIds = k.alloc({batch, blocks, k.idx(capacity), vwIdx}, i32);
  }
  auto listsOf = [&](Value heap, Value b, Value blk) {
    auto type = cast<MemRefType>(heap.getType());
    SmallVector<OpFoldResult> offsets = {b, blk, bld.getIndexAttr(0),
                                         bld.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {bld.getIndexAttr(1), bld.getIndexAttr(1),
                                       bld.getIndexAttr(capacity),
                                       bld.getIndexAttr(vw)};
    SmallVector<OpFoldResult> strides(4, bld.getIndexAttr(1));
    MemRefType viewType = memref::SubViewOp::inferRankReducedResultType(
        {capacity, vw}, type, offsets, sizes, strides);
    return memref::SubViewOp::create(bld, loc, viewType, heap, offsets, sizes,
                                     strides)
        .getResult();
  };
  k.parallel({batch, blocks}, [&](ValueRange ivs) {
    Value b = ivs[0], m0 = k.mul(ivs[1], vwIdx);
    Value vals = heapVals ? listsOf(heapVals, b, ivs[1])
                          : k.scratch({capacity, vw}, k.f32());
    Value ids =
        heapIds ? listsOf(heapIds, b, ivs[1]) : k.scratch({capacity, vw}, i32);
    k.loop(zero, k.idx(capacity), one, [&](Value s) {
      k.writeVec(k.splat(-kInf), vals, {s, zero}, true);
      vector::TransferWriteOp::create(
          bld, loc, vector::BroadcastOp::create(bld, loc, i32Vec, k.i32(-1)),
          ids, ValueRange{s, zero}, ArrayRef<bool>{true});
    });
    Value lanes = k.scratch({vw}, k.f32());
    // i32, not i1: a vector of i1 is stored as packed bits.
    Value picks = k.scratch({vw}, i32);
    Value realLanes = k.laneMask(k.sub(clusters, m0));
    Value m0I32 = vector::BroadcastOp::create(
        bld, loc, i32Vec, arith::IndexCastOp::create(bld, loc, i32, m0));
    Value clusterIds = arith::AddIOp::create(bld, loc, m0I32, laneI32);
    Value lastSlot = k.idx(capacity - 1);
    k.loop(zero, n, one, [&](Value t) {
      Value v = k.readVec(g, {b, t, m0}, false, -kInf);
      Value worst = k.readVec(vals, {lastSlot, zero}, true);
      Value worstId = vector::TransferReadOp::create(
          bld, loc, i32Vec, ids, ValueRange{lastSlot, zero}, k.i32(0),
          ArrayRef<bool>{true});
      Value candidate =
          k.andI1(realLanes, k.orI1(k.cmpf(arith::CmpFPredicate::OGT, v, worst),
                                    k.cmpi(arith::CmpIPredicate::slt, worstId,
                                           vector::BroadcastOp::create(
                                               bld, loc, i32Vec, k.i32(0)))));
      if (exclusive) {
        Value own = memref::LoadOp::create(bld, loc, owner, ValueRange{b, t});
        candidate =
            k.andI1(candidate,
                    k.cmpi(arith::CmpIPredicate::eq, clusterIds,
                           vector::BroadcastOp::create(bld, loc, i32Vec, own)));
      }
      Value any = k.reduce(CombiningKind::OR, candidate);
      // Rare once the lists fill: insert lane by lane.
      k.ifThen(any, [&] {
        k.writeVec(v, lanes, {zero}, true);
        vector::TransferWriteOp::create(
            bld, loc,
            k.select(candidate,
                     vector::BroadcastOp::create(bld, loc, i32Vec, k.i32(1)),
                     vector::BroadcastOp::create(bld, loc, i32Vec, k.i32(0))),
            picks, ValueRange{zero}, ArrayRef<bool>{true});
        Value tI32 = arith::IndexCastOp::create(bld, loc, i32, t);
        k.loop(zero, vwIdx, one, [&](Value l) {
          Value pick = memref::LoadOp::create(bld, loc, picks, ValueRange{l});
          k.ifThen(k.cmpi(arith::CmpIPredicate::ne, pick, k.i32(0)), [&] {
            Value lv = memref::LoadOp::create(bld, loc, lanes, ValueRange{l});
            insertRanked(k, vals, ids, capacity, l, lv, tI32);
          });
        });
      });
    });
    k.loop(zero, k.minIdx(vwIdx, k.sub(clusters, m0)), one, [&](Value l) {
      k.loop(zero, k.idx(capacity), one, [&](Value s) {
        Value id = memref::LoadOp::create(bld, loc, ids, ValueRange{s, l});
        memref::StoreOp::create(bld, loc, id, members,
                                ValueRange{b, k.add(m0, l), s});
      });
    });
  });
  return k.toTensor(type, members);
}

//===----------------------------------------------------------------------===//
// cluster_attention
//===----------------------------------------------------------------------===//

/// clusopt's CAST-style attention (clus.cluster_attention) in three
/// parallel phases whose memory is O(M·κ + N), never N×N:
/// 1. summaries R[m] = Σ_n softmax_n(Ak[n, m]) V[n], per block of clusters;
/// 2. per cluster, the normalised output o_m(t) of every member slot: the
///    intra scores against a gathered Kᵀ tile and the inter weights of the
///    other clusters' summaries share one softmax;
/// 3. the mean of slot outputs per token, split by channel vectors so each
///    thread owns disjoint columns and the scatter needs no atomics; tokens
///    in no cluster get Σ_m softmax_m(Aq[t, :]) R[m], or 0.
Value emitClusterAttention(KernelBuilder &k, ClusterAttentionOp op,
                           const TileConfig &tc) {
  OpBuilder &bld = k.b;
  Location loc = k.loc;
  Value q = k.toBuffer(op.getQ()), key = k.toBuffer(op.getK()),
        v = k.toBuffer(op.getV()), members = k.toBuffer(op.getMembers()),
        aq = k.toBuffer(op.getAq()), ak = k.toBuffer(op.getAk());
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  bool summaries = op.getSummaries();
  Value batch = k.dim(q, 0), heads = k.dim(q, 1), n = k.dim(q, 2),
        d = k.dim(q, 3), dv = k.dim(v, 3), clusters = k.dim(members, 1),
        capacity = k.dim(members, 2);
  int64_t rows = tc.rows, cols = tc.cols, vw = k.width;
  Value zero = k.idx(0), one = k.idx(1), vwIdx = k.idx(vw);
  Value dvPad = k.padToWidth(dv), mPad = k.padToWidth(clusters),
        kPad = k.padToWidth(capacity);
  Value scale = attentionScale(k, op.getScale(), d);
  Value o = k.alloc(type, dynamicSizes(type, {batch, heads, n, dv}));
  Value nonEmpty = k.cmpi(arith::CmpIPredicate::sgt, n, zero);

  // Phase 1: summaries, zero padded to whole vectors.
  Value summary;
  if (summaries) {
    summary = k.alloc({batch, heads, clusters, dvPad}, k.f32());
    k.parallel({batch, heads, k.ceilDiv(clusters, rows)}, [&](ValueRange ivs) {
      Value b = ivs[0], h = ivs[1], base = k.mul(ivs[2], k.idx(rows));
      SmallVector<Value> clusterRows = clampedRows(k, base, rows, clusters);
      auto logit = [&](int64_t r, Value t) {
        return k.loadF32(ak, {b, h, t, clusterRows[r]});
      };
      SmallVector<Value> maxes =
          k.loop(zero, n, one, SmallVector<Value>(rows, k.f32c(-kInf)),
                 [&](Value t, ValueRange a) {
                   SmallVector<Value> out;
                   for (int64_t r = 0; r < rows; ++r)
                     out.push_back(k.maxf(a[r], logit(r, t)));
                   return out;
                 });
      SmallVector<Value> sums = k.loop(
          zero, n, one, SmallVector<Value>(rows, k.f32c(0.0)),
          [&](Value t, ValueRange a) {
            SmallVector<Value> out;
            for (int64_t r = 0; r < rows; ++r)
              out.push_back(k.addf(a[r], k.exp(k.subf(logit(r, t), maxes[r]))));
            return out;
          });
      Value acc = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {dvPad});
      Value p = k.scratch({rows, cols}, k.f32());
      zeroRows(k, acc, rows, dvPad);
      k.loop(zero, n, k.idx(cols), [&](Value n0) {
        Value tn = k.minIdx(k.idx(cols), k.sub(n, n0));
        for (int64_t r = 0; r < rows; ++r) {
          Value inv = k.divf(k.f32c(1.0), sums[r]);
          k.loop(zero, tn, one, [&](Value j) {
            Value e = k.exp(k.subf(logit(r, k.add(n0, j)), maxes[r]));
            memref::StoreOp::create(bld, loc, k.mulf(e, inv), p,
                                    ValueRange{k.idx(r), j});
          });
        }
        accumulateWeightedRows(
            k, acc, p, rows, dvPad, tn, [&](Value j, Value cc) {
              return k.readVec(v, {b, h, k.add(n0, j), cc}, false);
            });
      });
      forValidRows(k, base, rows, clusters, [&](int64_t r, Value row) {
        k.loop(zero, dvPad, vwIdx, [&](Value cc) {
          k.writeVec(k.readVec(acc, {k.idx(r), cc}, true), summary,
                     {b, h, row, cc}, true);
        });
      });
    });
  }

  // Phase 2: o_m(t) of every member slot, normalised.
  Value slotOut = k.alloc({batch, heads, clusters, capacity, dvPad}, k.f32());
  k.parallel({batch, heads, clusters}, [&](ValueRange ivs) {
    Value b = ivs[0], h = ivs[1], m = ivs[2];
    // With no tokens there are no valid members and nothing to read.
    k.ifThen(nonEmpty, [&] {
      // Member rows (row 0 stands in for empty slots, with weight 0) and
      // the members' keys transposed, zero in empty slots.
      Value memberRow =
          k.scratch({ShapedType::kDynamic}, bld.getIndexType(), {kPad});
      Value memberValid = k.scratch({ShapedType::kDynamic}, k.f32(), {kPad});
      Value kT = k.scratch({ShapedType::kDynamic, ShapedType::kDynamic},
                           k.f32(), {d, kPad});
      k.loop(zero, kPad, one, [&](Value j) {
        Value slot = k.minIdx(j, k.sub(capacity, one));
        Value isMember, u;
        std::tie(isMember, u) = indexIn(k, members, {b, m, slot}, n);
        Value valid =
            k.andI1(isMember, k.cmpi(arith::CmpIPredicate::slt, j, capacity));
        Value row = k.select(valid, u, zero);
        memref::StoreOp::create(bld, loc, row, memberRow, ValueRange{j});
        memref::StoreOp::create(bld, loc,
                                k.select(valid, k.f32c(1.0), k.f32c(0.0)),
                                memberValid, ValueRange{j});
        k.loop(zero, d, one, [&](Value dd) {
          Value kv = k.loadF32(key, {b, h, row, dd});
          memref::StoreOp::create(bld, loc, k.select(valid, kv, k.f32c(0.0)),
                                  kT, ValueRange{dd, j});
        });
      });
      Value p = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {kPad});
      Value w = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {mPad});
      Value acc = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {dvPad});
      Type idxVec = k.vecOf(bld.getIndexType());
      Value lane = vector::StepOp::create(bld, loc, idxVec);
      Value self = vector::BroadcastOp::create(bld, loc, idxVec, m);
      k.loop(zero, capacity, k.idx(rows), [&](Value i0) {
        SmallVector<Value> tokens, slotValid;
        for (int64_t r = 0; r < rows; ++r) {
          Value slot = k.add(i0, k.idx(r));
          Value inSlots = k.cmpi(arith::CmpIPredicate::slt, slot, capacity);
          slot = k.minIdx(slot, k.sub(capacity, one));
          Value isMember, t;
          std::tie(isMember, t) = indexIn(k, members, {b, m, slot}, n);
          slotValid.push_back(k.andI1(inSlots, isMember));
          tokens.push_back(k.select(slotValid.back(), t, zero));
        }
        // Intra scores, -inf for empty member slots.
        k.loop(zero, kPad, vwIdx, [&](Value jc) {
          SmallVector<Value> dots = rowBlockReduce(
              k, rows, d,
              [&](Value dd) { return k.readVec(kT, {dd, jc}, true); },
              [&](int64_t r, Value dd) {
                return k.loadF32(q, {b, h, tokens[r], dd});
              },
              [&](Value qv, Value kv, Value a) { return k.fma(qv, kv, a); });
          Value isMember =
              k.cmpf(arith::CmpFPredicate::OGT,
                     k.readVec(memberValid, {jc}, true), k.splat(0.5));
          for (int64_t r = 0; r < rows; ++r)
            k.writeVec(k.select(isMember, k.mulf(dots[r], k.splat(scale)),
                                k.splat(-kInf)),
                       p, {k.idx(r), jc}, true);
        });
        // One softmax over intra scores and, with summaries, the other
        // clusters' Aq; p and w end up holding the unnormalised weights.
        SmallVector<Value> totals;
        for (int64_t r = 0; r < rows; ++r) {
          Value rIdx = k.idx(r);
          auto rowMax = [&](Value buf, Value len) {
            return maxOverVectors(k, len, [&](Value j) {
              return k.readVec(buf, {rIdx, j}, true);
            });
          };
          auto expSum = [&](Value buf, Value len, Value mx) {
            return sumExpOverVectors(
                k, len, mx,
                [&](Value j) { return k.readVec(buf, {rIdx, j}, true); },
                [&](Value j, Value e) { k.writeVec(e, buf, {rIdx, j}, true); });
          };
          Value mx = rowMax(p, kPad);
          if (summaries) {
            k.loop(zero, mPad, vwIdx, [&](Value mc) {
              Value a = k.readVec(aq, {b, h, tokens[r], mc}, false, -kInf);
              Value ids = arith::AddIOp::create(
                  bld, loc, vector::BroadcastOp::create(bld, loc, idxVec, mc),
                  lane);
              Value own = k.cmpi(arith::CmpIPredicate::eq, ids, self);
              k.writeVec(k.select(own, k.splat(-kInf), a), w, {rIdx, mc}, true);
            });
            mx = k.maxf(mx, rowMax(w, mPad));
          }
          Value total = expSum(p, kPad, mx);
          if (summaries)
            total = k.addf(total, expSum(w, mPad, mx));
          totals.push_back(total);
        }
        zeroRows(k, acc, rows, dvPad);
        accumulateWeightedRows(
            k, acc, p, rows, dvPad, capacity, [&](Value j, Value cc) {
              Value row =
                  memref::LoadOp::create(bld, loc, memberRow, ValueRange{j});
              return k.readVec(v, {b, h, row, cc}, false);
            });
        if (summaries)
          accumulateWeightedRows(
              k, acc, w, rows, dvPad, clusters, [&](Value j, Value cc) {
                return k.readVec(summary, {b, h, j, cc}, true);
              });
        for (int64_t r = 0; r < rows; ++r) {
          k.ifThen(slotValid[r], [&] {
            Value inv = k.splat(k.divf(k.f32c(1.0), totals[r]));
            Value slot = k.add(i0, k.idx(r));
            k.loop(zero, dvPad, vwIdx, [&](Value cc) {
              Value a = k.readVec(acc, {k.idx(r), cc}, true);
              k.writeVec(k.mulf(a, inv), slotOut, {b, h, m, slot, cc}, true);
            });
          });
        }
      });
    });
  });

  // Phase 3: per channel vector, sum slot outputs into their tokens, then
  // the mean, or the fallback for tokens in no cluster. Each channel block
  // keeps its own counts, so no two threads write the same element.
  Value blocks = k.ceilDiv(dv, vw);
  Value sums = k.alloc({batch, heads, n, dvPad}, k.f32());
  Value counts = k.alloc({batch, heads, blocks, n}, k.f32());
  k.parallel({batch, heads, blocks}, [&](ValueRange ivs) {
    Value b = ivs[0], h = ivs[1], blk = ivs[2], cc = k.mul(blk, vwIdx);
    k.loop(zero, n, one, [&](Value t) {
      k.writeVec(k.splat(0.0), sums, {b, h, t, cc}, true);
      memref::StoreOp::create(bld, loc, k.f32c(0.0), counts,
                              ValueRange{b, h, blk, t});
    });
    k.loop(zero, clusters, one, [&](Value m) {
      k.loop(zero, capacity, one, [&](Value i) {
        Value valid, t;
        std::tie(valid, t) = indexIn(k, members, {b, m, i}, n);
        k.ifThen(valid, [&] {
          Value s = k.readVec(sums, {b, h, t, cc}, true);
          Value add = k.readVec(slotOut, {b, h, m, i, cc}, true);
          k.writeVec(k.addf(s, add), sums, {b, h, t, cc}, true);
          Value c = memref::LoadOp::create(bld, loc, counts,
                                           ValueRange{b, h, blk, t});
          memref::StoreOp::create(bld, loc, k.addf(c, k.f32c(1.0)), counts,
                                  ValueRange{b, h, blk, t});
        });
      });
    });
    k.loop(zero, n, one, [&](Value t) {
      Value count =
          memref::LoadOp::create(bld, loc, counts, ValueRange{b, h, blk, t});
      Value inSome = k.cmpf(arith::CmpFPredicate::OGT, count, k.f32c(0.0));
      k.ifThen(inSome, [&] {
        Value s = k.readVec(sums, {b, h, t, cc}, true);
        k.writeVec(k.divf(s, k.splat(count)), o, {b, h, t, cc}, false);
      });
      k.ifThen(k.notI1(inSome), [&] {
        if (!summaries) {
          k.writeVec(k.splat(0.0), o, {b, h, t, cc}, false);
          return;
        }
        // Σ_m softmax_m(Aq[t, :]) R[m] for this channel vector.
        Value mx = maxOverVectors(k, mPad, [&](Value mc) {
          return k.readVec(aq, {b, h, t, mc}, false, -kInf);
        });
        SmallVector<Value> mix =
            k.loop(zero, clusters, one, {k.f32c(0.0), k.splat(0.0)},
                   [&](Value m, ValueRange a) -> SmallVector<Value> {
                     Value e = k.exp(k.subf(k.loadF32(aq, {b, h, t, m}), mx));
                     Value rv = k.readVec(summary, {b, h, m, cc}, true);
                     return {k.addf(a[0], e), k.fma(k.splat(e), rv, a[1])};
                   });
        k.writeVec(k.divf(mix[1], k.splat(mix[0])), o, {b, h, t, cc}, false);
      });
    });
  });
  return k.toTensor(type, o);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

} // namespace

std::optional<std::string> clusopt::tileProblem(const TileConfig &tile,
                                                int64_t width) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (tile.rows < 1 || tile.rows > TileConfig::kMaxRows)
    os << "rows must be in [1, " << TileConfig::kMaxRows << "], got "
       << tile.rows;
  else if (tile.cols < width || tile.cols % width != 0 ||
           tile.cols > TileConfig::kMaxCols)
    os << "cols must be a multiple of the vector width " << width << " in ["
       << width << ", " << TileConfig::kMaxCols << "], got " << tile.cols;
  else
    return std::nullopt;
  return text;
}

std::optional<std::string> clusopt::defaultTileProblem(const TileConfig &tile,
                                                       int64_t width) {
  TileConfig checked = tile;
  if (checked.rows == kOpDefaultRows)
    checked.rows = 1;
  return tileProblem(checked, width);
}

TileConfig clusopt::opDefaultTile(Operation *op, TileConfig defaults,
                                  int64_t width) {
  if (defaults.rows == kOpDefaultRows)
    defaults.rows = isa<PoolOp>(op) && width == 16 ? 8 : 4;
  return defaults;
}

std::optional<int64_t> clusopt::streamedExtent(Operation *op) {
  auto dimOf = [](Value v, unsigned d) -> std::optional<int64_t> {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.isDynamicDim(d))
      return std::nullopt;
    return t.getDimSize(d);
  };
  if (auto pool = dyn_cast<PoolOp>(op))
    return dimOf(pool.getZ(), 2);
  if (auto attn = dyn_cast<AttentionOp>(op)) {
    int64_t most = 0;
    for (Value k : attn.getKeys()) {
      std::optional<int64_t> m = dimOf(k, 2);
      if (!m)
        return std::nullopt;
      most = std::max(most, *m);
    }
    return most;
  }
  if (auto ca = dyn_cast<ClusterAttentionOp>(op))
    return dimOf(ca.getAk(), 2); // The summaries stream token tiles.
  return std::nullopt;
}

TileConfig clusopt::clampTileToExtent(Operation *op, TileConfig tile,
                                      int64_t width) {
  if (std::optional<int64_t> extent = streamedExtent(op))
    tile.cols = std::min(
        tile.cols, std::max(width, (*extent + width - 1) / width * width));
  return tile;
}

FailureOr<TileConfig>
clusopt::resolveTileConfig(Operation *op, TileConfig defaults, int64_t width) {
  TileConfig tile = opDefaultTile(op, defaults, width);
  if (clus::LoweringConfigAttr config = clus::getLoweringConfig(op)) {
    tile.rows = config.getRows().value_or(tile.rows);
    tile.cols = config.getCols().value_or(tile.cols);
  }
  if (std::optional<std::string> problem = tileProblem(tile, width))
    return op->emitError("tile ") << *problem;
  return clampTileToExtent(op, tile, width);
}

clus::LoweringConfigAttr clusopt::loweringConfigFor(Operation *op,
                                                    const TileConfig &tile) {
  TileKnobs knobs = tileKnobs(op);
  return clus::LoweringConfigAttr::get(
      op->getContext(), knobs.rows ? std::optional(tile.rows) : std::nullopt,
      knobs.cols ? std::optional(tile.cols) : std::nullopt);
}

bool clusopt::hasVectorKernel(Operation *op) {
  return isa<ClusDialect>(op->getDialect());
}

namespace {

struct ConvertClusToVectorPass
    : clusopt::impl::ConvertClusToVectorBase<ConvertClusToVectorPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(requireValueSemantics(getOperation(), getArgument())))
      return signalPassFailure();
    if (vectorWidth != 4 && vectorWidth != 8 && vectorWidth != 16) {
      getOperation()->emitError("vector-width must be 4, 8 or 16 f32 lanes, "
                                "got ")
          << vectorWidth.getValue();
      return signalPassFailure();
    }
    // The default tile is checked even when no op uses it.
    if (std::optional<std::string> problem =
            defaultTileProblem(TileConfig{rows, cols}, vectorWidth)) {
      getOperation()->emitError("invalid default tile: ") << *problem;
      return signalPassFailure();
    }
    // Pools first: a soft_assign they fuse may then be dead.
    SmallVector<Operation *> work;
    getOperation()->walk([&](PoolOp op) { work.push_back(op); });
    getOperation()->walk([&](Operation *op) {
      if (hasVectorKernel(op) && !isa<PoolOp>(op))
        work.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : work) {
      if (op->use_empty() && isa<SoftAssignOp>(op)) {
        rewriter.eraseOp(op);
        continue;
      }
      FailureOr<TileConfig> tc =
          resolveTileConfig(op, TileConfig{rows, cols}, vectorWidth);
      if (failed(tc))
        return signalPassFailure();
      rewriter.setInsertionPoint(op);
      KernelBuilder k(rewriter, op->getLoc(), vectorWidth);
      if (auto pool = dyn_cast<PoolOp>(op)) {
        auto producer = pool.getZ().getDefiningOp<SoftAssignOp>();
        bool fuse = fuseSoftAssign && producer && fusesIntoPool(producer);
        Value weights = fuse ? producer.getLogits() : pool.getZ();
        rewriter.replaceOp(
            op, emitPool(k, weights, pool.getX(),
                         cast<RankedTensorType>(pool->getResult(0).getType()),
                         fuse, *tc));
      } else if (auto attn = dyn_cast<AttentionOp>(op)) {
        rewriter.replaceOp(op, emitAttention(k, attn, *tc));
      } else if (auto sa = dyn_cast<SoftAssignOp>(op)) {
        rewriter.replaceOp(op, emitSoftAssign(k, sa));
      } else if (auto dpc = dyn_cast<DpcKnnOp>(op)) {
        auto [assign, centers] = emitDpcKnn(k, dpc, *tc);
        rewriter.replaceOp(op, ValueRange{assign, centers});
      } else if (auto km = dyn_cast<KMeansOp>(op)) {
        auto [assign, centroids] = emitKMeans(k, km, *tc);
        rewriter.replaceOp(op, ValueRange{assign, centroids});
      } else if (auto agg = dyn_cast<AggregateOp>(op)) {
        rewriter.replaceOp(op, emitAggregate(k, agg));
      } else if (auto bc = dyn_cast<BroadcastOp>(op)) {
        rewriter.replaceOp(op, emitBroadcast(k, bc));
      } else if (auto topk = dyn_cast<TopKMembersOp>(op)) {
        rewriter.replaceOp(op, emitTopKMembers(k, topk));
      } else if (auto ca = dyn_cast<ClusterAttentionOp>(op)) {
        rewriter.replaceOp(op, emitClusterAttention(k, ca, *tc));
      }
    }
  }
};

} // namespace

//===- ClusToVector.cpp - tiled, vectorised CPU kernels for clus ops ------===//
//
// The optimised CPU lowering. Each supported op becomes a kernel of scf
// loops over memrefs with 1-D vector ops along the contiguous axis:
//
// - pool (fused with a soft_assign over tokens): one online-softmax pass
//   over token tiles; no [M, N] probability tensor is written.
// - attention: flash-style. Per block of `rows` queries it streams cluster
//   tiles of `cols`, keeping a running max and sum; S scales in one kernel.
// - soft_assign: row softmax, vectorised along the contiguous axis.
// - dpc_knn: distances are recomputed tile by tile (running k-smallest for
//   the density, running min for δ); memory is O(N·C), never N×N.
//
// The outermost loops are scf.parallel, which the CPU pipeline lowers to
// OpenMP. Ops without a kernel here are left for convert-clus-to-linalg.
//
// Why hand-written: upstream has no online-softmax reduction, no running
// k-smallest and no flash-attention rewrite for CPU, and linalg tiling
// cannot fuse a softmax's max/sum through the consumer matmul. Everything
// after this pass (bufferization, vector → LLVM, scf → OpenMP) is upstream.
//
//===----------------------------------------------------------------------===//

#include "lib/Conversion/Passes.h"

#include "dialect/Clus/ClusOps.h"
#include "lib/Conversion/ClusToVector/ClusToVector.h"
#include "lib/Conversion/ClusToVector/KernelBuilder.h"

#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace clusopt {
#define GEN_PASS_DEF_CONVERTCLUSTOVECTOR
#include "lib/Conversion/Passes.h.inc"
} // namespace clusopt

using namespace mlir;
using namespace clusopt;
using namespace clusopt::clus;

using vector::CombiningKind;

static constexpr double kInf = std::numeric_limits<double>::infinity();

namespace {

/// The dynamic sizes of `type`, picked from the full list `sizes`.
SmallVector<Value> dynamicSizes(RankedTensorType type, ArrayRef<Value> sizes) {
  SmallVector<Value> dyn;
  for (auto [i, size] : llvm::enumerate(sizes))
    if (type.isDynamicDim(i))
      dyn.push_back(size);
  return dyn;
}

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
// Online softmax over row blocks, shared by pool and attention
//===----------------------------------------------------------------------===//

/// Zeroes `rows` rows of `buf` up to `widthPad` (a multiple of the width).
void zeroRows(KernelBuilder &k, Value buf, int64_t rows, Value widthPad) {
  k.loop(k.idx(0), widthPad, k.idx(k.width), [&](Value cc) {
    for (int64_t r = 0; r < rows; ++r)
      k.writeVec(k.splat(0.0), buf, {k.idx(r), cc}, true);
  });
}

/// One online-softmax step of row `r` over a tile of `len` scores, read a
/// vector at a time by `scoresAt` (-inf in masked lanes). Leaves
/// exp(s − newMax) in p[r, :len], rescales acc[r, :accPad] by
/// exp(oldMax − newMax), and returns the new running max and sum. The tile
/// must hold at least one real score, so the new max is finite.
std::pair<Value, Value> onlineSoftmaxStep(KernelBuilder &k,
                                          function_ref<Value(Value)> scoresAt,
                                          Value p, int64_t r, Value len,
                                          Value acc, Value accPad, Value oldMax,
                                          Value oldSum) {
  Value zero = k.idx(0), vwIdx = k.idx(k.width), rIdx = k.idx(r);
  Value tileMax =
      k.reduce(CombiningKind::MAXIMUMF,
               k.loop(zero, len, vwIdx, {k.splat(-kInf)},
                      [&](Value j, ValueRange a) -> SmallVector<Value> {
                        return {k.maxf(a[0], scoresAt(j))};
                      })[0]);
  Value newMax = k.maxf(oldMax, tileMax);
  Value correction = k.exp(k.subf(oldMax, newMax));
  Value maxVec = k.splat(newMax);
  Value sum = k.reduce(CombiningKind::ADD,
                       k.loop(zero, len, vwIdx, {k.splat(0.0)},
                              [&](Value j, ValueRange a) -> SmallVector<Value> {
                                Value e = k.exp(k.subf(scoresAt(j), maxVec));
                                k.writeVec(e, p, {rIdx, j}, true);
                                return {k.addf(a[0], e)};
                              })[0]);
  Value corrVec = k.splat(correction);
  k.loop(zero, accPad, vwIdx, [&](Value cc) {
    Value a = k.readVec(acc, {rIdx, cc}, true);
    k.writeVec(k.mulf(a, corrVec), acc, {rIdx, cc}, true);
  });
  return {newMax, k.addf(k.mulf(oldSum, correction), sum)};
}

/// acc[r, :] += Σ_{j < len} p[r, j] · src(j), one vector of `accPad` at a
/// time with all `rows` accumulators in registers; `srcAt(j, cc)` reads
/// that vector of row j of the source (tokens or values).
void accumulateWeightedRows(KernelBuilder &k, Value acc, Value p, int64_t rows,
                            Value accPad, Value len,
                            function_ref<Value(Value, Value)> srcAt) {
  Value zero = k.idx(0);
  k.loop(zero, accPad, k.idx(k.width), [&](Value cc) {
    SmallVector<Value> accs;
    for (int64_t r = 0; r < rows; ++r)
      accs.push_back(k.readVec(acc, {k.idx(r), cc}, true));
    accs = k.loop(zero, len, k.idx(1), accs,
                  [&](Value j, ValueRange a) -> SmallVector<Value> {
                    Value v = srcAt(j, cc);
                    SmallVector<Value> out;
                    for (int64_t r = 0; r < rows; ++r) {
                      Value pj = memref::LoadOp::create(
                          k.b, k.loc, p, ValueRange{k.idx(r), j});
                      out.push_back(k.fma(k.splat(pj), v, a[r]));
                    }
                    return out;
                  });
    for (int64_t r = 0; r < rows; ++r)
      k.writeVec(accs[r], acc, {k.idx(r), cc}, true);
  });
}

/// The register-blocked inner loop of scores and distances: for i < len,
/// with one column vector t = columnAt(i) loaded once and each row's scalar
/// x_r = rowAt(r, i) broadcast, acc_r = step(x_r, t, acc_r).
SmallVector<Value>
rowBlockReduce(KernelBuilder &k, int64_t rows, Value len,
               function_ref<Value(Value)> columnAt,
               function_ref<Value(int64_t, Value)> rowAt,
               function_ref<Value(Value, Value, Value)> step) {
  SmallVector<Value> init(rows, k.splat(0.0));
  return k.loop(k.idx(0), len, k.idx(1), init,
                [&](Value i, ValueRange a) -> SmallVector<Value> {
                  Value t = columnAt(i);
                  SmallVector<Value> out;
                  for (int64_t r = 0; r < rows; ++r)
                    out.push_back(step(k.splat(rowAt(r, i)), t, a[r]));
                  return out;
                });
}

//===----------------------------------------------------------------------===//
// pool, optionally fused with soft_assign over tokens
//===----------------------------------------------------------------------===//

/// Y[b, m, :] = Σ_n p[m, n] X[b, n, :]. With `fused`, `weights` holds
/// logits and p = softmax_n(logits) computed online: per token tile, the
/// running max is updated, the accumulator rescaled, and exp(l − max) is
/// kept only for that tile in a [rows, cols] scratch.
Value emitPool(KernelBuilder &k, Value weightsT, Value xT,
               RankedTensorType resultType, bool fused, const TileConfig &tc) {
  Value w = k.toBuffer(weightsT), x = k.toBuffer(xT);
  Value batch = k.dim(w, 0), m = k.dim(w, 1), n = k.dim(w, 2), c = k.dim(x, 2);
  Value y = k.alloc(resultType, dynamicSizes(resultType, {batch, m, c}));
  int64_t rows = tc.rows, cols = tc.cols, vw = k.width;
  Value cPad = k.padToWidth(c);
  Value zero = k.idx(0), vwIdx = k.idx(vw);

  k.parallel({batch, k.ceilDiv(m, rows)}, [&](ValueRange ivs) {
    Value b = ivs[0], base = k.mul(ivs[1], k.idx(rows));
    SmallVector<Value> clusterRows = clampedRows(k, base, rows, m);
    Value acc = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {cPad});
    Value p = k.scratch({rows, cols}, k.f32());
    zeroRows(k, acc, rows, cPad);
    SmallVector<Value> init;
    for (int64_t r = 0; r < rows; ++r)
      init.append({k.f32c(-kInf), k.f32c(0.0)});
    SmallVector<Value> stats =
        k.loop(zero, n, k.idx(cols), init, [&](Value n0, ValueRange state) {
          Value tn = k.minIdx(k.idx(cols), k.sub(n, n0));
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r) {
            if (!fused) {
              k.loop(zero, tn, vwIdx, [&](Value j) {
                Value z =
                    k.readVec(w, {b, clusterRows[r], k.add(n0, j)}, false, 0.0);
                k.writeVec(z, p, {k.idx(r), j}, true);
              });
              next.append({state[2 * r], state[2 * r + 1]});
              continue;
            }
            // Padding lanes read -inf so exp() makes them 0.
            auto [newMax, newSum] = onlineSoftmaxStep(
                k,
                [&](Value j) {
                  return k.readVec(w, {b, clusterRows[r], k.add(n0, j)}, false,
                                   -kInf);
                },
                p, r, tn, acc, cPad, state[2 * r], state[2 * r + 1]);
            next.append({newMax, newSum});
          }
          accumulateWeightedRows(
              k, acc, p, rows, cPad, tn, [&](Value j, Value cc) {
                return k.readVec(x, {b, k.add(n0, j), cc}, false);
              });
          return next;
        });
    forValidRows(k, base, rows, m, [&](int64_t r, Value row) {
      Value inv = fused ? k.divf(k.f32c(1.0), stats[2 * r + 1]) : Value();
      k.loop(zero, cPad, vwIdx, [&](Value cc) {
        Value a = k.readVec(acc, {k.idx(r), cc}, true);
        if (fused)
          a = k.mulf(a, k.splat(inv));
        k.writeVec(a, y, {b, row, cc}, false);
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
  auto type = cast<RankedTensorType>(op.getType());
  Value batch = k.dim(l, 0), m = k.dim(l, 1), n = k.dim(l, 2);
  Value z = k.alloc(type, dynamicSizes(type, {batch, m, n}));
  Value zero = k.idx(0), one = k.idx(1), vwIdx = k.idx(k.width);
  if (op.getAxis() == SoftAssignAxis::tokens) {
    // Rows are contiguous: max, sum of exp, then the normalised write.
    k.parallel({batch, m}, [&](ValueRange ivs) {
      Value b = ivs[0], row = ivs[1];
      Value mx =
          k.reduce(CombiningKind::MAXIMUMF,
                   k.loop(zero, n, vwIdx, {k.splat(-kInf)},
                          [&](Value j, ValueRange a) -> SmallVector<Value> {
                            return {k.maxf(
                                a[0], k.readVec(l, {b, row, j}, false, -kInf))};
                          })[0]);
      Value mxVec = k.splat(mx);
      Value sum =
          k.reduce(CombiningKind::ADD,
                   k.loop(zero, n, vwIdx, {k.splat(0.0)},
                          [&](Value j, ValueRange a) -> SmallVector<Value> {
                            Value v = k.readVec(l, {b, row, j}, false, -kInf);
                            return {k.addf(a[0], k.exp(k.subf(v, mxVec)))};
                          })[0]);
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
  auto type = cast<RankedTensorType>(op.getType());
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
  Value scale;
  if (std::optional<APFloat> s = op.getScale())
    scale = k.f32c(s->convertToDouble());
  else
    scale =
        k.divf(k.f32c(1.0),
               math::SqrtOp::create(k.b, k.loc,
                                    arith::UIToFPOp::create(
                                        k.b, k.loc, k.f32(),
                                        arith::IndexCastUIOp::create(
                                            k.b, k.loc, k.b.getI64Type(), d))));
  int64_t rows = tc.rows, cols = tc.cols, vw = k.width;
  Value zero = k.idx(0), vwIdx = k.idx(vw);
  Value dvPad = k.padToWidth(dv);

  k.parallel({batch, heads, k.ceilDiv(n, rows)}, [&](ValueRange ivs) {
    Value b = ivs[0], h = ivs[1], base = k.mul(ivs[2], k.idx(rows));
    SmallVector<Value> queryRows = clampedRows(k, base, rows, n);
    Value total = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {dvPad});
    Value acc = k.scratch({rows, ShapedType::kDynamic}, k.f32(), {dvPad});
    Value p = k.scratch({rows, cols}, k.f32());
    zeroRows(k, total, rows, dvPad);
    for (size_t s = 0; s < keys.size(); ++s) {
      zeroRows(k, acc, rows, dvPad);
      Value m = counts[s], mPad = countsPad[s], kt = keysT[s], v = values[s];
      SmallVector<Value> init;
      for (int64_t r = 0; r < rows; ++r)
        init.append({k.f32c(-kInf), k.f32c(0.0)});
      SmallVector<Value> stats = k.loop(
          zero, mPad, k.idx(cols), init, [&](Value m0, ValueRange state) {
            Value tm = k.minIdx(k.idx(cols), k.sub(mPad, m0));
            // Scores of the tile: rows × (one vector of clusters) in
            // registers, accumulated over the head dim.
            k.loop(zero, tm, vwIdx, [&](Value mc) {
              Value col = k.add(m0, mc);
              SmallVector<Value> accs = rowBlockReduce(
                  k, rows, d,
                  [&](Value dd) {
                    return k.readVec(kt, {b, h, dd, col}, true);
                  },
                  [&](int64_t r, Value dd) {
                    return k.loadF32(q, {b, h, queryRows[r], dd});
                  },
                  [&](Value qv, Value kv, Value a) {
                    return k.fma(qv, kv, a);
                  });
              Value mask = k.laneMask(k.sub(m, col));
              for (int64_t r = 0; r < rows; ++r) {
                Value sc = k.select(mask, k.mulf(accs[r], k.splat(scale)),
                                    k.splat(-kInf));
                k.writeVec(sc, p, {k.idx(r), mc}, true);
              }
            });
            // Online softmax (each tile holds at least one real cluster),
            // then acc += P · V over the real clusters of the tile.
            SmallVector<Value> next;
            for (int64_t r = 0; r < rows; ++r) {
              auto [newMax, newSum] = onlineSoftmaxStep(
                  k, [&](Value j) { return k.readVec(p, {k.idx(r), j}, true); },
                  p, r, tm, acc, dvPad, state[2 * r], state[2 * r + 1]);
              next.append({newMax, newSum});
            }
            accumulateWeightedRows(
                k, acc, p, rows, dvPad, k.minIdx(tm, k.sub(m, m0)),
                [&](Value j, Value cc) {
                  return k.readVec(v, {b, h, k.add(m0, j), cc}, false);
                });
            return next;
          });
      // Scales add their normalised outputs (SPEC §2.7: no joint softmax).
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

/// Inserts `value` into the ascending list `list[base .. base+len)`,
/// dropping the largest; branch-free over the list.
void insertSorted(KernelBuilder &k, Value list, int64_t len, Value value) {
  OpBuilder &b = k.b;
  auto lt = [&](Value a, Value c) {
    return arith::CmpFOp::create(b, k.loc, arith::CmpFPredicate::OLT, a, c);
  };
  for (int64_t j = len - 1; j >= 1; --j) {
    Value prev =
        memref::LoadOp::create(b, k.loc, list, ValueRange{k.idx(j - 1)});
    Value cur = memref::LoadOp::create(b, k.loc, list, ValueRange{k.idx(j)});
    Value placed = k.select(lt(value, cur), value, cur);
    Value next = k.select(lt(value, prev), prev, placed);
    memref::StoreOp::create(b, k.loc, next, list, ValueRange{k.idx(j)});
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
  Value rho = k.alloc({batch, nPad}, k.f32());
  Value rowMax = k.alloc({batch, n}, k.f32());
  Value kk = k.minIdx(k.idx(kNearest), n);
  Value kkF = arith::UIToFPOp::create(
      bld, loc, k.f32(),
      arith::IndexCastUIOp::create(bld, loc, bld.getI64Type(), kk));
  k.parallel({batch, k.ceilDiv(n, rows)}, [&](ValueRange ivs) {
    Value b = ivs[0], base = k.mul(ivs[1], k.idx(rows));
    SmallVector<Value> tokenRows = clampedRows(k, base, rows, n);
    SmallVector<Value> lists;
    for (int64_t r = 0; r < rows; ++r) {
      lists.push_back(k.scratch({kNearest}, k.f32()));
      for (int64_t t = 0; t < kNearest; ++t)
        memref::StoreOp::create(bld, loc, k.f32c(kInf), lists.back(),
                                ValueRange{k.idx(t)});
    }
    Value lanes = k.scratch({vw}, k.f32());
    SmallVector<Value> maxInit(rows, k.splat(0.0));
    SmallVector<Value> maxes =
        k.loop(zero, nPad, vwIdx, maxInit, [&](Value j, ValueRange a) {
          SmallVector<Value> d2 =
              squaredDistances(k, x, xT, b, tokenRows, j, c);
          Value nValid = k.sub(n, j);
          Value mask = k.laneMask(nValid);
          SmallVector<Value> out;
          for (int64_t r = 0; r < rows; ++r) {
            Value masked = k.select(mask, d2[r], k.splat(kInf));
            Value worst = memref::LoadOp::create(
                bld, loc, lists[r], ValueRange{k.idx(kNearest - 1)});
            Value any =
                k.reduce(CombiningKind::OR, cmpf(arith::CmpFPredicate::OLT,
                                                 masked, k.splat(worst)));
            // Rarely taken once the list fills: insert lane by lane.
            k.ifThen(any, [&] {
              k.writeVec(masked, lanes, {zero}, true);
              k.loop(zero, vwIdx, one, [&](Value l) {
                Value v = memref::LoadOp::create(bld, loc, lanes, l);
                insertSorted(k, lists[r], kNearest, v);
              });
            });
            out.push_back(k.maxf(a[r], k.select(mask, d2[r], k.splat(0.0))));
          }
          return out;
        });
    forValidRows(k, base, rows, n, [&](int64_t r, Value row) {
      Value sum = k.loop(zero, kk, one, {k.f32c(0.0)},
                         [&](Value t, ValueRange a) -> SmallVector<Value> {
                           Value v =
                               memref::LoadOp::create(bld, loc, lists[r], t);
                           return {k.addf(a[0], v)};
                         })[0];
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
  k.parallel({batch}, [&](ValueRange ivs) {
    Value b = ivs[0];
    Value vals = k.scratch({maxM}, k.f32());
    Value ids = k.scratch({maxM}, bld.getIndexType());
    for (int64_t t = 0; t < maxM; ++t) {
      memref::StoreOp::create(bld, loc, k.f32c(-kInf), vals,
                              ValueRange{k.idx(t)});
      memref::StoreOp::create(bld, loc, zero, ids, ValueRange{k.idx(t)});
    }
    k.loop(zero, n, one, [&](Value i) {
      Value s = memref::LoadOp::create(bld, loc, score, ValueRange{b, i});
      Value last =
          memref::LoadOp::create(bld, loc, vals, ValueRange{k.idx(maxM - 1)});
      k.ifThen(cmpf(arith::CmpFPredicate::OGT, s, last), [&] {
        // Shift down every entry below s, one slot at a time from the end.
        Value lastSlot = k.idx(maxM - 1);
        k.loop(zero, lastSlot, one, [&](Value t) {
          Value j = k.sub(lastSlot, t);
          Value jm1 = k.sub(j, one);
          Value prev = memref::LoadOp::create(bld, loc, vals, jm1);
          Value cur = memref::LoadOp::create(bld, loc, vals, j);
          Value prevId = memref::LoadOp::create(bld, loc, ids, jm1);
          Value curId = memref::LoadOp::create(bld, loc, ids, j);
          Value shift = cmpf(arith::CmpFPredicate::OLT, prev, s);
          Value place = cmpf(arith::CmpFPredicate::OLT, cur, s);
          memref::StoreOp::create(
              bld, loc, k.select(shift, prev, k.select(place, s, cur)), vals,
              j);
          memref::StoreOp::create(
              bld, loc, k.select(shift, prevId, k.select(place, i, curId)), ids,
              j);
        });
        Value first = memref::LoadOp::create(bld, loc, vals, zero);
        Value firstId = memref::LoadOp::create(bld, loc, ids, zero);
        Value place = cmpf(arith::CmpFPredicate::OLT, first, s);
        memref::StoreOp::create(bld, loc, k.select(place, s, first), vals,
                                zero);
        memref::StoreOp::create(bld, loc, k.select(place, i, firstId), ids,
                                zero);
      });
    });
    for (int64_t s = 0; s < numScales; ++s)
      for (int64_t t = 0; t < maxM; ++t) {
        Value id = memref::LoadOp::create(bld, loc, ids, ValueRange{k.idx(t)});
        Value out =
            t < scales[s]
                ? arith::IndexCastOp::create(bld, loc, bld.getI32Type(), id)
                      .getResult()
                : k.i32(-1);
        memref::StoreOp::create(bld, loc, out, centers,
                                ValueRange{b, k.idx(s), k.idx(t)});
      }
    k.loop(zero, maxMPad, one, [&](Value t) {
      Value valid = cmpi(arith::CmpIPredicate::slt, t, k.idx(maxM));
      Value id = memref::LoadOp::create(
          bld, loc, ids, ValueRange{k.minIdx(t, k.idx(maxM - 1))});
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
    Type idxVec = k.vecOf(bld.getIndexType());
    Value lane = vector::StepOp::create(bld, loc, idxVec);
    for (int64_t s = 0; s < numScales; ++s) {
      Value mS = k.idx(scales[s]);
      Value mPad = k.idx((scales[s] + vw - 1) / vw * vw);
      SmallVector<Value> init;
      for (int64_t r = 0; r < rows; ++r)
        init.append({k.f32c(kInf), zero});
      SmallVector<Value> best =
          k.loop(zero, mPad, vwIdx, init, [&](Value j, ValueRange a) {
            SmallVector<Value> d2 =
                squaredDistances(k, x, centersT, b, tokenRows, j, c);
            Value mask = k.laneMask(k.sub(mS, j));
            Value ids = arith::AddIOp::create(
                bld, loc, vector::BroadcastOp::create(bld, loc, idxVec, j),
                lane);
            SmallVector<Value> out;
            for (int64_t r = 0; r < rows; ++r) {
              Value masked = k.select(mask, d2[r], k.splat(kInf));
              Value chunkMin = k.reduce(CombiningKind::MINIMUMF, masked);
              Value atMin =
                  cmpf(arith::CmpFPredicate::OEQ, masked, k.splat(chunkMin));
              Value firstId = k.reduce(CombiningKind::MINSI,
                                       k.select(atMin, ids,
                                                vector::BroadcastOp::create(
                                                    bld, loc, idxVec, mPad)));
              Value better =
                  cmpf(arith::CmpFPredicate::OLT, chunkMin, a[2 * r]);
              out.append({k.select(better, chunkMin, a[2 * r]),
                          k.select(better, firstId, a[2 * r + 1])});
            }
            return out;
          });
      forValidRows(k, base, rows, n, [&](int64_t r, Value row) {
        memref::StoreOp::create(bld, loc,
                                arith::IndexCastOp::create(bld, loc,
                                                           bld.getI32Type(),
                                                           best[2 * r + 1]),
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

FailureOr<TileConfig>
clusopt::resolveTileConfig(Operation *op, TileConfig defaults, int64_t width) {
  TileConfig tile = defaults;
  if (auto dict = op->getAttrOfType<DictionaryAttr>("clus.tile")) {
    for (NamedAttribute entry : dict) {
      auto value = dyn_cast<IntegerAttr>(entry.getValue());
      if (!value || (entry.getName() != "rows" && entry.getName() != "cols"))
        return op->emitError("'clus.tile' takes integer 'rows' and 'cols' "
                             "entries, got '")
               << entry.getName().strref() << "'";
      (entry.getName() == "rows" ? tile.rows : tile.cols) = value.getInt();
    }
  }
  if (std::optional<std::string> problem = tileProblem(tile, width))
    return op->emitError("tile ") << *problem;
  return tile;
}

bool clusopt::hasVectorKernel(Operation *op) {
  return isa<PoolOp, AttentionOp, DpcKnnOp, SoftAssignOp>(op);
}

bool clusopt::fusesIntoPool(SoftAssignOp op) {
  return op.getAxis() == SoftAssignAxis::tokens;
}

namespace {

struct ConvertClusToVectorPass
    : clusopt::impl::ConvertClusToVectorBase<ConvertClusToVectorPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth != 4 && vectorWidth != 8 && vectorWidth != 16) {
      getOperation()->emitError("vector-width must be 4, 8 or 16 f32 lanes, "
                                "got ")
          << vectorWidth.getValue();
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
        rewriter.replaceOp(op, emitPool(k, weights, pool.getX(),
                                        cast<RankedTensorType>(pool.getType()),
                                        fuse, *tc));
      } else if (auto attn = dyn_cast<AttentionOp>(op)) {
        rewriter.replaceOp(op, emitAttention(k, attn, *tc));
      } else if (auto sa = dyn_cast<SoftAssignOp>(op)) {
        rewriter.replaceOp(op, emitSoftAssign(k, sa));
      } else if (auto dpc = dyn_cast<DpcKnnOp>(op)) {
        auto [assign, centers] = emitDpcKnn(k, dpc, *tc);
        rewriter.replaceOp(op, ValueRange{assign, centers});
      }
    }
  }
};

} // namespace

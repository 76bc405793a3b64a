//===- ClusToGPU.cpp - NVIDIA GPU kernels for clus ops --------------------===//
//
// The GPU lowering's hand-written kernels, emitted as `gpu.launch` ops over
// memrefs (kernel outlining, NVVM conversion and binary emission are
// upstream):
//
// - attention, and pool (plain, or fused with the soft_assign over tokens
//   that produces its weights): one flash-style kernel. A block of 4 warps
//   owns 64 query rows (16 per warp) of one batch item. Key and value tiles
//   are staged in shared memory. Each warp computes its 16 x BK score tile
//   in the m16n8k16 mma fragment layout: with tensor cores
//   (`nvvm.mma.sync`, f32 accumulation) for f16/bf16 storage, with FMAs in
//   the same layout for f32. The online softmax (the step the CPU kernels
//   run too, ClusCommon/OnlineSoftmax.h) keeps a running max and sum per
//   row; the 4 lanes that share a row combine theirs with warp shuffles.
//   P stays in registers and is re-used as the A fragment of P·V, so no
//   score matrix goes to memory.
// - cluster_attention: a SIMT kernel, one thread per (batch·head, token,
//   value column), after a kernel computing the cluster summaries.
//
// Every other op goes through convert-clus-to-linalg and upstream's
// parallel-loop to GPU mapping.
//
// Why hand-written: upstream has no online-softmax (flash) rewrite, and its
// mma rewrites (nvgpu from vector contractions) cannot carry the softmax's
// per-row rescale between the two products.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"

#include "clusopt/Conversion/ClusToGPU.h"
#include "clusopt/Dialect/Clus/ClusOps.h"
#include "lib/Conversion/ClusCommon/KernelBuilder.h"
#include "lib/Conversion/ClusCommon/OnlineSoftmax.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace clusopt {
#define GEN_PASS_DEF_CONVERTCLUSTOGPU
#include "clusopt/Conversion/Passes.h.inc"
} // namespace clusopt

using namespace mlir;
using namespace clusopt;
using namespace clusopt::clus;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kWarpSize = 32;
constexpr int64_t kWarps = 4;
constexpr int64_t kThreads = kWarpSize * kWarps;
/// Query rows per block: 16 (one mma M tile) per warp.
constexpr int64_t kBlockRows = 16 * kWarps;
/// Value columns per pass over the keys: 8 mma N tiles.
constexpr int64_t kChunk = 64;
constexpr int64_t kChunkTiles = kChunk / 8;

/// KernelBuilder plus the GPU vocabulary: shuffles, barriers, shared memory
/// and launches.
struct GpuBuilder : KernelBuilder {
  GpuBuilder(OpBuilder &b, Location loc) : KernelBuilder(b, loc, 1) {}

  Value divui(Value a, Value c) { return arith::DivUIOp::create(b, loc, a, c); }
  Value remui(Value a, Value c) { return arith::RemUIOp::create(b, loc, a, c); }
  Value lt(Value a, Value c) { return cmpi(arith::CmpIPredicate::slt, a, c); }

  Value shuffle(Value v, Value offset, gpu::ShuffleMode mode) {
    return gpu::ShuffleOp::create(b, loc, v, offset, i32(kWarpSize), mode)
        .getShuffleResult();
  }
  Value shuffleXor(Value v, int64_t mask) {
    return shuffle(v, i32(mask), gpu::ShuffleMode::XOR);
  }
  /// The value of `v` in lane `lane` (an index).
  Value shuffleIdx(Value v, Value lane) {
    return shuffle(v, arith::IndexCastOp::create(b, loc, b.getI32Type(), lane),
                   gpu::ShuffleMode::IDX);
  }
  void barrier() { gpu::BarrierOp::create(b, loc); }

  Value zeroOf(Type t) {
    return arith::ConstantOp::create(b, loc, b.getZeroAttr(t));
  }

  /// A 2-D view at byte `offset` of the block's dynamic shared memory.
  Value sharedView(Value bytes, Value offset, Type elt, Value rows,
                   Value cols) {
    auto space = gpu::AddressSpaceAttr::get(b.getContext(),
                                            gpu::AddressSpace::Workgroup);
    auto type = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                                elt, MemRefLayoutAttrInterface(), space);
    return memref::ViewOp::create(b, loc, type, bytes, offset,
                                  ValueRange{rows, cols});
  }
  Value dynamicSharedMemory() {
    auto space = gpu::AddressSpaceAttr::get(b.getContext(),
                                            gpu::AddressSpace::Workgroup);
    return gpu::DynamicSharedMemoryOp::create(
        b, loc,
        MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                        MemRefLayoutAttrInterface(), space));
  }

  /// A launch of (gridX, gridY) blocks of kThreads threads with
  /// `sharedBytes` (an index, or null) of dynamic shared memory. Empty grids
  /// are skipped: CUDA rejects them. `body(blockX, blockY, thread)`.
  void launch(Value gridX, Value gridY, Value sharedBytes,
              function_ref<void(Value, Value, Value)> body) {
    Value nonEmpty = andI1(cmpi(arith::CmpIPredicate::sgt, gridX, idx(0)),
                           cmpi(arith::CmpIPredicate::sgt, gridY, idx(0)));
    ifThen(nonEmpty, [&] {
      Value one = idx(1);
      Value shared =
          sharedBytes
              ? arith::IndexCastOp::create(b, loc, b.getI32Type(), sharedBytes)
                    .getResult()
              : Value();
      auto op = gpu::LaunchOp::create(b, loc, gridX, gridY, one, idx(kThreads),
                                      one, one, shared);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&op.getBody().front());
      body(op.getBlockIds().x, op.getBlockIds().y, op.getThreadIds().x);
      gpu::TerminatorOp::create(b, loc);
    });
  }

  /// scf.if yielding `then()` when `cond`, else `otherwise`; guards loads
  /// that could be out of bounds.
  Value ifElse(Value cond, function_ref<Value()> then, Value otherwise) {
    auto op = scf::IfOp::create(b, loc, otherwise.getType(), cond,
                                /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(op.thenBlock());
    scf::YieldOp::create(b, loc, then());
    b.setInsertionPointToStart(op.elseBlock());
    scf::YieldOp::create(b, loc, otherwise);
    return op.getResult(0);
  }
};

/// Four f32 accumulators of one 16x8 mma tile as thread (g, t) of a warp
/// holds them (g = lane / 4, t = lane % 4): rows g and g + 8, columns 2t
/// and 2t + 1, in the order (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1).
using Fragment = std::array<Value, 4>;

Fragment zeroFragment(GpuBuilder &k) {
  Value z = k.f32c(0.0);
  return {z, z, z, z};
}

void append(SmallVector<Value> &out, ArrayRef<Fragment> frags) {
  for (const Fragment &f : frags)
    out.append(f.begin(), f.end());
}

SmallVector<Fragment> takeFragments(ValueRange values, size_t count) {
  SmallVector<Fragment> out(count);
  for (size_t i = 0; i < count; ++i)
    for (size_t j = 0; j < 4; ++j)
      out[i][j] = values[4 * i + j];
  return out;
}

//===----------------------------------------------------------------------===//
// Tensor-core m16n8k16 products
//===----------------------------------------------------------------------===//

/// Packs two f32 values (already rounded to storage) into one mma operand
/// register: vector<2xf16> for f16, i32 for bf16 (what nvvm.mma.sync takes).
Value packPair(GpuBuilder &k, Type elt, Value lo, Value hi) {
  auto pairType = VectorType::get({2}, elt);
  if (lo.getType() != elt) {
    lo = arith::TruncFOp::create(k.b, k.loc, elt, lo);
    hi = arith::TruncFOp::create(k.b, k.loc, elt, hi);
  }
  Value pair =
      vector::FromElementsOp::create(k.b, k.loc, pairType, ValueRange{lo, hi});
  if (elt.isF16())
    return pair;
  Value word = vector::BitCastOp::create(
      k.b, k.loc, VectorType::get({1}, k.b.getI32Type()), pair);
  return vector::ExtractOp::create(k.b, k.loc, word, ArrayRef<int64_t>{0});
}

/// Two consecutive storage elements of shared memory as one operand
/// register (one 32-bit shared load).
Value loadPair(GpuBuilder &k, Value smem, Value row, Value col) {
  Type elt = cast<MemRefType>(smem.getType()).getElementType();
  Value pair = vector::LoadOp::create(k.b, k.loc, VectorType::get({2}, elt),
                                      smem, ValueRange{row, col});
  if (elt.isF16())
    return pair;
  Value word = vector::BitCastOp::create(
      k.b, k.loc, VectorType::get({1}, k.b.getI32Type()), pair);
  return vector::ExtractOp::create(k.b, k.loc, word, ArrayRef<int64_t>{0});
}

/// acc += A(16x16) · B(16x8) on tensor cores, f32 accumulation.
Fragment mma(GpuBuilder &k, Type elt, ArrayRef<Value> a, ArrayRef<Value> bOp,
             const Fragment &acc) {
  Type f32 = k.f32();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(k.b.getContext(), {f32, f32, f32, f32});
  NVVM::MMATypes type =
      elt.isF16() ? NVVM::MMATypes::f16 : NVVM::MMATypes::bf16;
  auto op = NVVM::MmaOp::create(
      k.b, k.loc, resultType, a, bOp, ValueRange(acc), {16, 8, 16},
      std::nullopt, std::nullopt, std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  Fragment out;
  for (int64_t i = 0; i < 4; ++i)
    out[i] = LLVM::ExtractValueOp::create(k.b, k.loc, op.getResult(),
                                          ArrayRef<int64_t>{i});
  return out;
}

//===----------------------------------------------------------------------===//
// Flash kernel: attention and pool
//===----------------------------------------------------------------------===//

enum class Scores {
  /// scale · Q·Kᵀ, softmax over keys (attention).
  QueryKey,
  /// Given logits, softmax over keys (soft_assign fused into pool).
  Logits,
  /// Given weights, no softmax (plain pool).
  Weights,
};

struct KeyValues {
  Value keys; // [B, H, M, D]; null unless Scores::QueryKey
  Value values;
  Value count;
};

struct FlashProblem {
  Scores scores;
  /// Q [B, H, N, D] or the weights/logits [B, M, N].
  Value queries;
  SmallVector<KeyValues> scales;
  Value out;
  /// Batch items (B·H for attention), H (null for pool), query rows, head
  /// dim (attention), value columns.
  Value batch, heads, rows, depth, valueCols;
  /// The f32 score scale (attention).
  Value scale;
};

/// Copies a [R, width] tile into shared memory with all kThreads threads:
/// smem[r][c] = load(r, c) for r < validRows and c < validCols, else 0.
void stageTile(GpuBuilder &k, Value thread, Value smem, int64_t rowsInTile,
               Value width, Value validRows, Value validCols,
               function_ref<Value(Value, Value)> load) {
  Type elt = cast<MemRefType>(smem.getType()).getElementType();
  Value total = k.mul(k.idx(rowsInTile), width);
  k.loop(thread, total, k.idx(kThreads), [&](Value i) {
    Value r = k.divui(i, width), c = k.remui(i, width);
    Value valid = k.andI1(k.lt(r, validRows), k.lt(c, validCols));
    Value v = k.ifElse(
        valid,
        [&] {
          Value x = load(r, c);
          if (x.getType() != elt)
            x = x.getType().getIntOrFloatBitWidth() <
                        elt.getIntOrFloatBitWidth()
                    ? arith::ExtFOp::create(k.b, k.loc, elt, x).getResult()
                    : arith::TruncFOp::create(k.b, k.loc, elt, x).getResult();
          return x;
        },
        k.zeroOf(elt));
    memref::StoreOp::create(k.b, k.loc, v, smem, ValueRange{r, c});
  });
}

/// Emits the flash kernel for `p` into `p.out`.
void emitFlashKernel(GpuBuilder &k, const FlashProblem &p, bool useMma) {
  bool softmax = p.scores != Scores::Weights;
  bool queryKey = p.scores == Scores::QueryKey;
  Type storage = cast<MemRefType>(p.queries.getType()).getElementType();
  Type smemElt = useMma ? storage : k.f32();
  int64_t eltBytes = smemElt.getIntOrFloatBitWidth() / 8;
  // f32 tiles are twice as large; fewer keys keep them under 48 KiB.
  int64_t keysPerTile = useMma ? 32 : 16;
  int64_t scoreTiles = keysPerTile / 8, keySteps = keysPerTile / 16;

  // Host side: the head dim padded to the mma K of 16, and shared memory.
  Value depthPad =
      queryKey ? k.mul(k.ceilDiv(p.depth, 16), k.idx(16)) : k.idx(0);
  Value queryBytes = k.mul(k.idx(kBlockRows * eltBytes), depthPad);
  Value keyBytes = k.mul(k.idx(keysPerTile * eltBytes), depthPad);
  Value valueBytes = k.idx(keysPerTile * kChunk * eltBytes);
  Value sharedBytes = k.add(k.add(queryBytes, keyBytes), valueBytes);
  Value gridX = k.ceilDiv(p.rows, kBlockRows);

  k.launch(
      gridX, p.batch, sharedBytes, [&](Value bx, Value item, Value thread) {
        Value c32 = k.idx(kWarpSize), c4 = k.idx(4);
        Value lane = k.remui(thread, c32), warp = k.divui(thread, c32);
        Value g = k.divui(lane, c4), t = k.remui(lane, c4);
        Value rowBase = k.mul(bx, k.idx(kBlockRows));
        Value warpRow = k.mul(warp, k.idx(16));
        SmallVector<Value> lead;
        if (p.heads)
          lead = {k.divui(item, p.heads), k.remui(item, p.heads)};
        else
          lead = {item};
        auto at = [&](Value row, Value col) {
          SmallVector<Value> indices(lead);
          indices.append({row, col});
          return indices;
        };

        Value bytes = k.dynamicSharedMemory();
        Value qs, ks;
        if (queryKey) {
          qs = k.sharedView(bytes, k.idx(0), smemElt, k.idx(kBlockRows),
                            depthPad);
          ks = k.sharedView(bytes, queryBytes, smemElt, k.idx(keysPerTile),
                            depthPad);
          stageTile(k, thread, qs, kBlockRows, depthPad, k.sub(p.rows, rowBase),
                    p.depth, [&](Value r, Value c) {
                      return memref::LoadOp::create(k.b, k.loc, p.queries,
                                                    at(k.add(rowBase, r), c));
                    });
        }
        Value vs = k.sharedView(bytes, k.add(queryBytes, keyBytes), smemElt,
                                k.idx(keysPerTile), k.idx(kChunk));

        Value row0 = k.add(rowBase, k.add(warpRow, g));
        Value row1 = k.add(row0, k.idx(8));
        Value twoT = k.mul(t, k.idx(2));

        k.loop(k.idx(0), p.valueCols, k.idx(kChunk), [&](Value c0) {
          SmallVector<Fragment> total(kChunkTiles, zeroFragment(k));
          for (const KeyValues &kv : p.scales) {
            SmallVector<Value> init = {k.f32c(-kInf), k.f32c(-kInf),
                                       k.f32c(0.0), k.f32c(0.0)};
            append(init, SmallVector<Fragment>(kChunkTiles, zeroFragment(k)));
            SmallVector<Value> state = k.loop(
                k.idx(0), kv.count, k.idx(keysPerTile), init,
                [&](Value k0, ValueRange st) -> SmallVector<Value> {
                  Value keysLeft = k.sub(kv.count, k0);
                  // Everyone is done with the previous tile before it is
                  // overwritten; the Q tile is complete before the first use.
                  k.barrier();
                  if (queryKey)
                    stageTile(k, thread, ks, keysPerTile, depthPad, keysLeft,
                              p.depth, [&](Value r, Value c) {
                                return memref::LoadOp::create(
                                    k.b, k.loc, kv.keys, at(k.add(k0, r), c));
                              });
                  stageTile(k, thread, vs, keysPerTile, k.idx(kChunk), keysLeft,
                            k.sub(p.valueCols, c0), [&](Value r, Value c) {
                              return memref::LoadOp::create(
                                  k.b, k.loc, kv.values,
                                  at(k.add(k0, r), k.add(c0, c)));
                            });
                  k.barrier();

                  // Scores of this warp's 16 rows against the tile's keys.
                  SmallVector<Fragment> s(scoreTiles, zeroFragment(k));
                  if (queryKey) {
                    SmallVector<Value> sInit;
                    append(sInit, s);
                    SmallVector<Value> sOut = k.loop(
                        k.idx(0), depthPad, k.idx(16), sInit,
                        [&](Value d0, ValueRange acc) -> SmallVector<Value> {
                          SmallVector<Fragment> frags =
                              takeFragments(acc, scoreTiles);
                          Value qr0 = k.add(warpRow, g),
                                qr1 = k.add(qr0, k.idx(8));
                          if (useMma) {
                            Value dLo = k.add(d0, twoT);
                            Value dHi = k.add(dLo, k.idx(8));
                            SmallVector<Value> a = {loadPair(k, qs, qr0, dLo),
                                                    loadPair(k, qs, qr1, dLo),
                                                    loadPair(k, qs, qr0, dHi),
                                                    loadPair(k, qs, qr1, dHi)};
                            for (int64_t j = 0; j < scoreTiles; ++j) {
                              Value key = k.add(k.idx(8 * j), g);
                              SmallVector<Value> bOp = {
                                  loadPair(k, ks, key, dLo),
                                  loadPair(k, ks, key, dHi)};
                              frags[j] = mma(k, storage, a, bOp, frags[j]);
                            }
                          } else {
                            for (int64_t kk = 0; kk < 16; ++kk) {
                              Value d = k.add(d0, k.idx(kk));
                              Value qa = memref::LoadOp::create(
                                  k.b, k.loc, qs, ValueRange{qr0, d});
                              Value qb = memref::LoadOp::create(
                                  k.b, k.loc, qs, ValueRange{qr1, d});
                              for (int64_t j = 0; j < scoreTiles; ++j) {
                                Value key = k.add(k.idx(8 * j), twoT);
                                Value k0v = memref::LoadOp::create(
                                    k.b, k.loc, ks, ValueRange{key, d});
                                Value k1v = memref::LoadOp::create(
                                    k.b, k.loc, ks,
                                    ValueRange{k.add(key, k.idx(1)), d});
                                Fragment &f = frags[j];
                                f = {k.addf(f[0], k.mulf(qa, k0v)),
                                     k.addf(f[1], k.mulf(qa, k1v)),
                                     k.addf(f[2], k.mulf(qb, k0v)),
                                     k.addf(f[3], k.mulf(qb, k1v))};
                              }
                            }
                          }
                          SmallVector<Value> next;
                          append(next, frags);
                          return next;
                        });
                    s = takeFragments(sOut, scoreTiles);
                  } else {
                    // Weights or logits straight from global memory, padded
                    // with -inf (softmax) or 0 past the last key; rows past the
                    // last row read 0 and are never stored.
                    Value pad = k.f32c(softmax ? -kInf : 0.0);
                    Value rowCount = p.rows;
                    for (int64_t j = 0; j < scoreTiles; ++j)
                      for (int64_t e = 0; e < 4; ++e) {
                        Value row = e < 2 ? row0 : row1;
                        Value key =
                            k.add(k.add(k0, k.idx(8 * j + e % 2)), twoT);
                        Value rowOk = k.lt(row, rowCount);
                        Value keyOk = k.lt(key, kv.count);
                        s[j][e] = k.ifElse(
                            k.andI1(rowOk, keyOk),
                            [&] { return k.loadF32(p.queries, at(row, key)); },
                            k.select(rowOk, pad, k.f32c(0.0)));
                      }
                  }

                  Value m0 = st[0], m1 = st[1], l0 = st[2], l1 = st[3];
                  SmallVector<Fragment> acc =
                      takeFragments(st.drop_front(4), kChunkTiles);
                  if (softmax) {
                    if (queryKey) {
                      // Scale, and mask the keys past the last with -inf.
                      Value scale = p.scale, ninf = k.f32c(-kInf);
                      for (int64_t j = 0; j < scoreTiles; ++j)
                        for (int64_t e = 0; e < 4; ++e) {
                          Value key =
                              k.add(k.add(k0, k.idx(8 * j + e % 2)), twoT);
                          s[j][e] = k.select(k.lt(key, kv.count),
                                             k.mulf(s[j][e], scale), ninf);
                        }
                    }
                    // The thread's two rows (g and g + 8): elements 0-1 and
                    // 2-3 of each fragment.
                    SmallVector<OnlineSoftmaxStep> steps = onlineSoftmaxStep(
                        k, {{m0, l0}, {m1, l1}},
                        [&] {
                          // Row maxima over this thread's values, then over
                          // the 4 lanes that hold the same rows.
                          Value t0 = s[0][0], t1 = s[0][2];
                          for (int64_t j = 0; j < scoreTiles; ++j) {
                            t0 = k.maxf(t0, k.maxf(s[j][0], s[j][1]));
                            t1 = k.maxf(t1, k.maxf(s[j][2], s[j][3]));
                          }
                          for (int64_t mask : {1, 2}) {
                            t0 = k.maxf(t0, k.shuffleXor(t0, mask));
                            t1 = k.maxf(t1, k.shuffleXor(t1, mask));
                          }
                          return SmallVector<Value>{t0, t1};
                        },
                        [&](ArrayRef<Value> maxes,
                            function_ref<Value(int64_t)> scaledSum) {
                          // This thread's share of each row's sum; the lanes
                          // combine theirs after the last tile.
                          SmallVector<Value> out = {scaledSum(0), scaledSum(1)};
                          for (int64_t j = 0; j < scoreTiles; ++j)
                            for (int64_t e = 0; e < 4; ++e) {
                              s[j][e] = k.exp(k.subf(s[j][e], maxes[e / 2]));
                              out[e / 2] = k.addf(out[e / 2], s[j][e]);
                            }
                          return out;
                        },
                        [&](ArrayRef<Value> corr) {
                          for (Fragment &f : acc)
                            f = {k.mulf(f[0], corr[0]), k.mulf(f[1], corr[0]),
                                 k.mulf(f[2], corr[1]), k.mulf(f[3], corr[1])};
                        });
                    m0 = steps[0].max;
                    m1 = steps[1].max;
                    l0 = steps[0].sum;
                    l1 = steps[1].sum;
                  }

                  // acc += P · V_tile; P's score fragments are its A fragments.
                  for (int64_t q = 0; q < keySteps; ++q) {
                    Value key0 = k.idx(16 * q);
                    if (useMma) {
                      const Fragment &lo = s[2 * q], &hi = s[2 * q + 1];
                      SmallVector<Value> a = {
                          packPair(k, storage, lo[0], lo[1]),
                          packPair(k, storage, lo[2], lo[3]),
                          packPair(k, storage, hi[0], hi[1]),
                          packPair(k, storage, hi[2], hi[3])};
                      Value kLo = k.add(key0, twoT), kHi = k.add(kLo, k.idx(8));
                      for (int64_t j = 0; j < kChunkTiles; ++j) {
                        Value col = k.add(k.idx(8 * j), g);
                        auto v = [&](Value key) {
                          return memref::LoadOp::create(k.b, k.loc, vs,
                                                        ValueRange{key, col})
                              .getResult();
                        };
                        Value one = k.idx(1);
                        SmallVector<Value> bOp = {
                            packPair(k, storage, v(kLo), v(k.add(kLo, one))),
                            packPair(k, storage, v(kHi), v(k.add(kHi, one)))};
                        acc[j] = mma(k, storage, a, bOp, acc[j]);
                      }
                      continue;
                    }
                    // f32: P[g][kk] lives in lane 4g + (kk % 8) / 2.
                    Value groupLane = k.mul(g, c4);
                    for (int64_t kk = 0; kk < 16; ++kk) {
                      const Fragment &f = s[2 * q + kk / 8];
                      Value src = k.add(groupLane, k.idx((kk % 8) / 2));
                      Value pa = k.shuffleIdx(f[kk % 2], src);
                      Value pb = k.shuffleIdx(f[2 + kk % 2], src);
                      Value key = k.add(key0, k.idx(kk));
                      for (int64_t j = 0; j < kChunkTiles; ++j) {
                        Value col = k.add(k.idx(8 * j), twoT);
                        Value v0 = memref::LoadOp::create(k.b, k.loc, vs,
                                                          ValueRange{key, col});
                        Value v1 = memref::LoadOp::create(
                            k.b, k.loc, vs,
                            ValueRange{key, k.add(col, k.idx(1))});
                        Fragment &a = acc[j];
                        a = {k.addf(a[0], k.mulf(pa, v0)),
                             k.addf(a[1], k.mulf(pa, v1)),
                             k.addf(a[2], k.mulf(pb, v0)),
                             k.addf(a[3], k.mulf(pb, v1))};
                      }
                    }
                  }
                  SmallVector<Value> next = {m0, m1, l0, l1};
                  append(next, acc);
                  return next;
                });
            // This scale's normalised output joins the sum over scales.
            Value l0 = state[2], l1 = state[3];
            for (int64_t mask : {1, 2}) {
              l0 = k.addf(l0, k.shuffleXor(l0, mask));
              l1 = k.addf(l1, k.shuffleXor(l1, mask));
            }
            Value inv0 = k.f32c(1.0), inv1 = inv0;
            if (softmax) {
              inv0 = k.divf(inv0, l0);
              inv1 = k.divf(inv1, l1);
            }
            SmallVector<Fragment> acc =
                takeFragments(ValueRange(state).drop_front(4), kChunkTiles);
            for (int64_t j = 0; j < kChunkTiles; ++j)
              for (int64_t e = 0; e < 4; ++e)
                total[j][e] =
                    k.addf(total[j][e], k.mulf(acc[j][e], e < 2 ? inv0 : inv1));
          }
          for (int64_t j = 0; j < kChunkTiles; ++j)
            for (int64_t e = 0; e < 4; ++e) {
              Value row = e < 2 ? row0 : row1;
              Value col = k.add(k.add(c0, k.idx(8 * j + e % 2)), twoT);
              k.ifThen(k.andI1(k.lt(row, p.rows), k.lt(col, p.valueCols)), [&] {
                k.storeScalar(total[j][e], p.out, at(row, col));
              });
            }
        });
      });
}

bool tensorCoreType(Type t) { return t.isF16() || t.isBF16(); }

/// Tensor cores when every floating operand has the same 16-bit type.
bool useTensorCores(ValueRange operands) {
  Type first = getElementTypeOrSelf(operands.front().getType());
  return tensorCoreType(first) && llvm::all_of(operands, [&](Value v) {
           return getElementTypeOrSelf(v.getType()) == first;
         });
}

Value allocResult(GpuBuilder &k, RankedTensorType type, ArrayRef<Value> sizes) {
  return k.alloc(type, dynamicSizes(type, sizes));
}

Value emitAttention(GpuBuilder &k, AttentionOp op) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  FlashProblem p;
  p.scores = Scores::QueryKey;
  p.queries = k.toBuffer(op.getQ());
  SmallVector<Value> operands = {op.getQ()};
  for (auto [keysT, valuesT] : llvm::zip(op.getKeys(), op.getValues())) {
    Value keys = k.toBuffer(keysT), values = k.toBuffer(valuesT);
    p.scales.push_back({keys, values, k.dim(keys, 2)});
    operands.append({keysT, valuesT});
  }
  Value b = k.dim(p.queries, 0);
  p.heads = k.dim(p.queries, 1);
  p.batch = k.mul(b, p.heads);
  p.rows = k.dim(p.queries, 2);
  p.depth = k.dim(p.queries, 3);
  p.valueCols = k.dim(p.scales.front().values, 3);
  p.scale = attentionScale(k, op.getScale(), p.depth);
  p.out = allocResult(k, type, {b, p.heads, p.rows, p.valueCols});
  emitFlashKernel(k, p, useTensorCores(operands));
  return p.out;
}

Value emitPool(GpuBuilder &k, PoolOp op, Value weights, bool fused) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  FlashProblem p;
  p.scores = fused ? Scores::Logits : Scores::Weights;
  p.queries = k.toBuffer(weights);
  Value x = k.toBuffer(op.getX());
  p.batch = k.dim(p.queries, 0);
  p.rows = k.dim(p.queries, 1);
  p.scales.push_back({Value(), x, k.dim(p.queries, 2)});
  p.valueCols = k.dim(x, 2);
  p.out = allocResult(k, type, {p.batch, p.rows, p.valueCols});
  emitFlashKernel(k, p, useTensorCores({weights, op.getX()}));
  return p.out;
}

//===----------------------------------------------------------------------===//
// cluster_attention
//===----------------------------------------------------------------------===//

/// Online-softmax state of one output element: running max, Σ e, Σ e·v.
struct Running {
  Value max, sum, weighted;
};

Running pushScore(GpuBuilder &k, Running r, Value score, Value value) {
  Value e, weighted = r.weighted;
  OnlineSoftmaxStep step =
      onlineSoftmaxScore(k, {r.max, r.sum}, score, e, [&](ArrayRef<Value> c) {
        weighted = k.mulf(weighted, c[0]);
      });
  return {step.max, step.sum, k.addf(weighted, k.mulf(e, value))};
}

Value emitClusterAttention(GpuBuilder &k, ClusterAttentionOp op) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  Value q = k.toBuffer(op.getQ()), kb = k.toBuffer(op.getK()),
        v = k.toBuffer(op.getV()), members = k.toBuffer(op.getMembers()),
        aq = k.toBuffer(op.getAq()), ak = k.toBuffer(op.getAk());
  Value batch = k.dim(q, 0), heads = k.dim(q, 1), n = k.dim(q, 2),
        depth = k.dim(q, 3), dv = k.dim(v, 3), clusters = k.dim(members, 1),
        capacity = k.dim(members, 2);
  Value items = k.mul(batch, heads);
  Value out = allocResult(k, type, {batch, heads, n, dv});
  bool summaries = op.getSummaries();
  Value threads = k.idx(kThreads), zero = k.idx(0), one = k.idx(1);

  // R[item, m, :] = Σ_n softmax_n(Ak[n, m]) V[n]: one thread per (m, col).
  Value summary;
  if (summaries) {
    summary = k.alloc({items, clusters, dv}, k.f32());
    Value work = k.mul(clusters, dv);
    k.launch(k.ceilDiv(work, kThreads), items, Value(),
             [&](Value bx, Value item, Value thread) {
               Value i = k.add(k.mul(bx, threads), thread);
               k.ifThen(k.lt(i, work), [&] {
                 Value m = k.divui(i, dv), col = k.remui(i, dv);
                 Value b = k.divui(item, heads), h = k.remui(item, heads);
                 SmallVector<Value> r = k.loop(
                     zero, n, one, {k.f32c(-kInf), k.f32c(0.0), k.f32c(0.0)},
                     [&](Value t, ValueRange st) -> SmallVector<Value> {
                       Running next = pushScore(k, {st[0], st[1], st[2]},
                                                k.loadF32(ak, {b, h, t, m}),
                                                k.loadF32(v, {b, h, t, col}));
                       return {next.max, next.sum, next.weighted};
                     });
                 memref::StoreOp::create(k.b, k.loc, k.divf(r[2], r[1]),
                                         summary, ValueRange{item, m, col});
               });
             });
  }

  // One thread per (token, col): the mean over the slots that hold the
  // token of o_m(token), or the fallback for a token in no cluster.
  Value work = k.mul(n, dv);
  Value scale = attentionScale(k, op.getScale(), depth);
  k.launch(
      k.ceilDiv(work, kThreads), items, Value(),
      [&](Value bx, Value item, Value thread) {
        Value i = k.add(k.mul(bx, threads), thread);
        k.ifThen(k.lt(i, work), [&] {
          Value token = k.divui(i, dv), col = k.remui(i, dv);
          Value b = k.divui(item, heads), h = k.remui(item, heads);
          Value tokenI32 =
              arith::IndexCastOp::create(k.b, k.loc, k.b.getI32Type(), token);
          Value nI32 =
              arith::IndexCastOp::create(k.b, k.loc, k.b.getI32Type(), n);
          auto memberAt = [&](Value m, Value slot) {
            return memref::LoadOp::create(k.b, k.loc, members,
                                          ValueRange{b, m, slot})
                .getResult();
          };
          SmallVector<Value> totals = k.loop(
              zero, clusters, one, {k.f32c(0.0), k.f32c(0.0)},
              [&](Value m, ValueRange st) -> SmallVector<Value> {
                return k.loop(
                    zero, capacity, one, {st[0], st[1]},
                    [&](Value slot, ValueRange acc) -> SmallVector<Value> {
                      Value mine = k.cmpi(arith::CmpIPredicate::eq,
                                          memberAt(m, slot), tokenI32);
                      auto ifOp = scf::IfOp::create(
                          k.b, k.loc, TypeRange{k.f32(), k.f32()}, mine, true);
                      OpBuilder::InsertionGuard guard(k.b);
                      k.b.setInsertionPointToStart(ifOp.thenBlock());
                      Running r{k.f32c(-kInf), k.f32c(0.0), k.f32c(0.0)};
                      // Intra scores against every valid member of m.
                      SmallVector<Value> st2 = k.loop(
                          zero, capacity, one, {r.max, r.sum, r.weighted},
                          [&](Value j, ValueRange s) -> SmallVector<Value> {
                            Value u = memberAt(m, j);
                            Value valid = k.andI1(
                                k.cmpi(arith::CmpIPredicate::sge, u, k.i32(0)),
                                k.cmpi(arith::CmpIPredicate::slt, u, nI32));
                            auto inner = scf::IfOp::create(
                                k.b, k.loc,
                                TypeRange{k.f32(), k.f32(), k.f32()}, valid,
                                true);
                            OpBuilder::InsertionGuard g2(k.b);
                            k.b.setInsertionPointToStart(inner.thenBlock());
                            Value ui = arith::IndexCastOp::create(
                                k.b, k.loc, k.b.getIndexType(), u);
                            Value dot = k.loop(
                                zero, depth, one, {k.f32c(0.0)},
                                [&](Value d,
                                    ValueRange a) -> SmallVector<Value> {
                                  return {k.addf(
                                      a[0],
                                      k.mulf(k.loadF32(q, {b, h, token, d}),
                                             k.loadF32(kb, {b, h, ui, d})))};
                                })[0];
                            Running next = pushScore(
                                k, {s[0], s[1], s[2]}, k.mulf(scale, dot),
                                k.loadF32(v, {b, h, ui, col}));
                            scf::YieldOp::create(
                                k.b, k.loc,
                                ValueRange{next.max, next.sum, next.weighted});
                            k.b.setInsertionPointToStart(inner.elseBlock());
                            scf::YieldOp::create(k.b, k.loc, s);
                            return llvm::to_vector_of<Value>(
                                inner.getResults());
                          });
                      r = {st2[0], st2[1], st2[2]};
                      if (summaries) {
                        // Inter scores: the other clusters' summaries.
                        SmallVector<Value> st3 = k.loop(
                            zero, clusters, one, {r.max, r.sum, r.weighted},
                            [&](Value other,
                                ValueRange s) -> SmallVector<Value> {
                              Value skip =
                                  k.cmpi(arith::CmpIPredicate::eq, other, m);
                              Running next =
                                  pushScore(k, {s[0], s[1], s[2]},
                                            k.loadF32(aq, {b, h, token, other}),
                                            memref::LoadOp::create(
                                                k.b, k.loc, summary,
                                                ValueRange{item, other, col}));
                              return {k.select(skip, s[0], next.max),
                                      k.select(skip, s[1], next.sum),
                                      k.select(skip, s[2], next.weighted)};
                            });
                        r = {st3[0], st3[1], st3[2]};
                      }
                      Value o = k.divf(r.weighted, r.sum);
                      scf::YieldOp::create(
                          k.b, k.loc,
                          ValueRange{k.addf(acc[0], o),
                                     k.addf(acc[1], k.f32c(1.0))});
                      k.b.setInsertionPointToStart(ifOp.elseBlock());
                      scf::YieldOp::create(k.b, k.loc, acc);
                      return llvm::to_vector_of<Value>(ifOp.getResults());
                    });
              });
          Value inCluster =
              k.cmpf(arith::CmpFPredicate::OGT, totals[1], k.f32c(0.0));
          Value fallback = k.f32c(0.0);
          if (summaries) {
            SmallVector<Value> r = k.loop(
                zero, clusters, one, {k.f32c(-kInf), k.f32c(0.0), k.f32c(0.0)},
                [&](Value m, ValueRange s) -> SmallVector<Value> {
                  Running next = pushScore(
                      k, {s[0], s[1], s[2]}, k.loadF32(aq, {b, h, token, m}),
                      memref::LoadOp::create(k.b, k.loc, summary,
                                             ValueRange{item, m, col}));
                  return {next.max, next.sum, next.weighted};
                });
            fallback = k.divf(r[2], r[1]);
          }
          Value mean = k.divf(totals[0], k.maxf(totals[1], k.f32c(1.0)));
          k.storeScalar(k.select(inCluster, mean, fallback), out,
                        {b, h, token, col});
        });
      });
  // Host code orders the free after the launches that read the scratch.
  if (summary)
    memref::DeallocOp::create(k.b, k.loc, summary);
  return out;
}

/// Bufferization has already run, so the consumers of a kernel's result are
/// `bufferization.to_buffer` ops: they take the kernel's buffer directly.
/// The buffer is then freed after its last use in its block, unless it
/// escapes (returned or yielded: then its new owner frees it).
void adoptResult(IRRewriter &rewriter, Value tensor, Value buffer) {
  for (OpOperand &use : llvm::make_early_inc_range(tensor.getUses())) {
    auto toBuffer = dyn_cast<bufferization::ToBufferOp>(use.getOwner());
    if (!toBuffer)
      continue;
    rewriter.setInsertionPoint(toBuffer);
    Value replacement = buffer;
    if (toBuffer.getType() != buffer.getType())
      replacement = memref::CastOp::create(rewriter, toBuffer.getLoc(),
                                           toBuffer.getType(), buffer);
    rewriter.replaceOp(toBuffer, replacement);
  }
  if (tensor.use_empty())
    rewriter.eraseOp(tensor.getDefiningOp());
  SmallVector<Operation *> users;
  collectBufferUsers(buffer, users);
  Block *block = buffer.getParentBlock();
  Operation *last = nullptr;
  for (Operation *user : users) {
    if (isa<bufferization::ToTensorOp, RegionBranchTerminatorOpInterface>(
            user) ||
        user->hasTrait<OpTrait::ReturnLike>())
      return; // escapes: not ours to free
    Operation *ancestor = block->findAncestorOpInBlock(*user);
    if (!ancestor)
      return;
    if (!last || last->isBeforeInBlock(ancestor))
      last = ancestor;
  }
  rewriter.setInsertionPointAfter(last ? last : buffer.getDefiningOp());
  memref::DeallocOp::create(rewriter, buffer.getLoc(), buffer);
}

struct ConvertClusToGPUPass
    : clusopt::impl::ConvertClusToGPUBase<ConvertClusToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(requireValueSemantics(getOperation(), getArgument())))
      return signalPassFailure();
    // Pools first: a soft_assign they fuse may then be dead.
    SmallVector<Operation *> work;
    getOperation()->walk([&](PoolOp op) { work.push_back(op); });
    getOperation()->walk([&](Operation *op) {
      if (isa<AttentionOp, ClusterAttentionOp>(op))
        work.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    SmallVector<std::pair<Value, Value>> results; // (tensor, buffer)
    for (Operation *op : work) {
      rewriter.setInsertionPoint(op);
      GpuBuilder k(rewriter, op->getLoc());
      Value buffer;
      SoftAssignOp fused;
      if (auto pool = dyn_cast<PoolOp>(op)) {
        auto producer = pool.getZ().getDefiningOp<SoftAssignOp>();
        if (fuseSoftAssign && producer && fusesIntoPool(producer))
          fused = producer;
        Value weights = fused ? fused.getLogits() : pool.getZ();
        buffer = emitPool(k, pool, weights, bool(fused));
      } else if (auto attn = dyn_cast<AttentionOp>(op)) {
        buffer = emitAttention(k, attn);
      } else if (auto ca = dyn_cast<ClusterAttentionOp>(op)) {
        buffer = emitClusterAttention(k, ca);
      }
      auto type = cast<RankedTensorType>(op->getResult(0).getType());
      Value tensor = k.toTensor(type, buffer);
      rewriter.replaceOp(op, tensor);
      if (fused && fused->use_empty())
        rewriter.eraseOp(fused);
      results.push_back({tensor, buffer});
    }
    for (auto [tensor, buffer] : results)
      adoptResult(rewriter, tensor, buffer);
  }
};

} // namespace

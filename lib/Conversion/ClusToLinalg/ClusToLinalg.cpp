//===- ClusToLinalg.cpp - reference lowering of clus ops --------*- C++ -*-===//
//
// Lowers every clus op to linalg.generic ops on tensors, one small step per
// formula of the op's definition (docs/dialect/ClusDialect.md). Upstream has
// no ops for these (softmax-pooling, k-smallest, rank-based top-k, masked
// segment reductions), so the steps are written as generics here; everything
// after this pass is upstream MLIR.
//
// Conventions:
// - Every reduction accumulates in f32; float inputs are extended in the
//   payload and results truncated back to the storage type at the end.
// - Ties go to the lower index: argmin/argmax keep the first strict
//   improvement, ranks count the strictly better plus the equal-but-earlier.
// - Gathers through index operands are guarded (scf.if or a clamp that is
//   only reached with a valid index), so bad indices never read out of
//   bounds.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/Passes.h"

#include "clusopt/Conversion/ClusToGPU.h"

#include "clusopt/Dialect/Clus/ClusOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace clusopt {
#define GEN_PASS_DEF_CONVERTCLUSTOLINALG
#include "clusopt/Conversion/Passes.h.inc"
} // namespace clusopt

using namespace mlir;
using namespace clusopt;
using namespace clusopt::clus;

namespace {

/// One operand of a linalg.generic: the tensor and, for each of its axes,
/// the loop dimension that indexes it.
struct Access {
  Value tensor;
  SmallVector<unsigned, 6> loops;
};

using Body =
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>;

/// Small vocabulary shared by the op lowerings.
class Emitter {
public:
  Emitter(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  OpBuilder &builder() { return b; }
  Location location() { return loc; }
  Type f32() { return b.getF32Type(); }
  Type i32() { return b.getI32Type(); }

  Value f32Const(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value indexConst(int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }

  Value dim(Value tensor, int64_t axis) {
    return b.createOrFold<tensor::DimOp>(loc, tensor, axis);
  }
  OpFoldResult size(Value tensor, int64_t axis) {
    return tensor::getMixedSize(b, loc, tensor, axis);
  }

  /// A tensor of the given sizes filled with `value`.
  Value full(ArrayRef<OpFoldResult> sizes, Type elementType, TypedAttr value) {
    Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
    Value init = arith::ConstantOp::create(b, loc, value);
    return linalg::FillOp::create(b, loc, init, empty).getResult(0);
  }
  Value zeros(ArrayRef<OpFoldResult> sizes) {
    return full(sizes, f32(), b.getF32FloatAttr(0.0));
  }
  Value filledF32(ArrayRef<OpFoldResult> sizes, double v) {
    return full(sizes, f32(), b.getF32FloatAttr(v));
  }
  Value filledI32(ArrayRef<OpFoldResult> sizes, int64_t v) {
    return full(sizes, i32(), b.getI32IntegerAttr(v));
  }

  /// Builds a linalg.generic with `numLoops` loops, of which `reductions`
  /// are reductions. `body` receives the block arguments (inputs, then
  /// outputs) and returns the values to yield.
  SmallVector<Value> generic(unsigned numLoops, ArrayRef<unsigned> reductions,
                             ArrayRef<Access> ins, ArrayRef<Access> outs,
                             Body body) {
    SmallVector<AffineMap> maps;
    SmallVector<Value> inputs, outputs;
    SmallVector<Type> resultTypes;
    auto mapOf = [&](const Access &access) {
      SmallVector<AffineExpr> exprs;
      for (unsigned loop : access.loops)
        exprs.push_back(b.getAffineDimExpr(loop));
      return AffineMap::get(numLoops, 0, exprs, b.getContext());
    };
    for (const Access &access : ins) {
      maps.push_back(mapOf(access));
      inputs.push_back(access.tensor);
    }
    for (const Access &access : outs) {
      maps.push_back(mapOf(access));
      outputs.push_back(access.tensor);
      resultTypes.push_back(access.tensor.getType());
    }
    SmallVector<utils::IteratorType> iterators(numLoops,
                                               utils::IteratorType::parallel);
    for (unsigned loop : reductions)
      iterators[loop] = utils::IteratorType::reduction;
    auto op = linalg::GenericOp::create(
        b, loc, resultTypes, inputs, outputs, maps, iterators,
        [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
          linalg::YieldOp::create(nested, nestedLoc,
                                  body(nested, nestedLoc, args));
        });
    return llvm::to_vector_of<Value>(op.getResults());
  }

  /// Converts a float tensor elementwise to `elementType`: extf when that
  /// is wider, truncf when narrower, nothing when equal.
  Value convertElements(Value tensor, Type elementType) {
    auto type = cast<RankedTensorType>(tensor.getType());
    if (type.getElementType() == elementType)
      return tensor;
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, tensor);
    return convertInto(tensor,
                       tensor::EmptyOp::create(b, loc, sizes, elementType));
  }

  /// Converts a float tensor elementwise into `dest` (same sizes), whose
  /// element type may be wider (extf), narrower (truncf) or the same.
  Value convertInto(Value tensor, Value dest) {
    auto type = cast<RankedTensorType>(tensor.getType());
    Type from = type.getElementType();
    Type to = cast<RankedTensorType>(dest.getType()).getElementType();
    SmallVector<unsigned, 6> loops =
        llvm::to_vector<6>(llvm::seq<unsigned>(0, type.getRank()));
    return generic(type.getRank(), {}, {{tensor, loops}}, {{dest, loops}},
                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                     Value v = args[0];
                     if (from.getIntOrFloatBitWidth() <
                         to.getIntOrFloatBitWidth())
                       v = arith::ExtFOp::create(nb, nl, to, v);
                     else if (from != to)
                       v = arith::TruncFOp::create(nb, nl, to, v);
                     return SmallVector<Value>{v};
                   })[0];
  }

  /// Extends a float tensor to f32 (no-op for f32).
  Value toF32(Value tensor) { return convertElements(tensor, f32()); }

  /// `1/sqrt(D)` for the head dim `axis` of `tensor`, or the given scale.
  Value attentionScale(std::optional<APFloat> scale, Value tensor,
                       int64_t axis) {
    if (scale)
      return f32Const(scale->convertToDouble());
    int64_t d = cast<RankedTensorType>(tensor.getType()).getDimSize(axis);
    if (!ShapedType::isDynamic(d))
      return f32Const(1.0 / std::sqrt(static_cast<double>(d)));
    Value dimI64 =
        arith::IndexCastOp::create(b, loc, b.getI64Type(), dim(tensor, axis));
    Value dimF32 = arith::SIToFPOp::create(b, loc, f32(), dimI64);
    return arith::DivFOp::create(b, loc, f32Const(1.0),
                                 math::SqrtOp::create(b, loc, dimF32));
  }

private:
  OpBuilder &b;
  Location loc;
};

// Payload helpers, usable inside generic bodies.

Value extF32(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isF32())
    return v;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

Value loopIndexI32(OpBuilder &b, Location loc, unsigned loop) {
  Value index = linalg::IndexOp::create(b, loc, loop);
  return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
}

/// `0 <= i < bound`, with `i` an i32 and `bound` an index.
Value inRange(OpBuilder &b, Location loc, Value i, Value bound) {
  Value zero = arith::ConstantIntOp::create(b, loc, 0, 32);
  Value boundI32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), bound);
  Value nonNegative =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, i, zero);
  Value below =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, boundI32);
  return arith::AndIOp::create(b, loc, nonNegative, below);
}

/// Reads `tensor[indices]` as f32 when `valid`, and 0 otherwise, without
/// touching memory for invalid indices.
Value guardedExtract(OpBuilder &b, Location loc, Value valid, Value tensor,
                     ValueRange indices) {
  auto ifOp = scf::IfOp::create(
      b, loc, valid,
      [&](OpBuilder &tb, Location tl) {
        Value v = tensor::ExtractOp::create(tb, tl, tensor, indices);
        scf::YieldOp::create(tb, tl, extF32(tb, tl, v));
      },
      [&](OpBuilder &eb, Location el) {
        Value zero = arith::ConstantOp::create(eb, el, eb.getF32FloatAttr(0.0));
        scf::YieldOp::create(eb, el, zero);
      });
  return ifOp.getResult(0);
}

Value toIndex(OpBuilder &b, Location loc, Value i32) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), i32);
}

/// Softmax statistics of `logits` (f32 or narrower) along loop `axis` of a
/// 3-D iteration space: the running max and the sum of exp(x - max), both
/// indexed by `reduced` loops.
std::pair<Value, Value> softmaxStats(Emitter &e, Access logits,
                                     unsigned numLoops, unsigned axis,
                                     SmallVector<unsigned, 6> reduced,
                                     ArrayRef<OpFoldResult> reducedSizes) {
  Value max = e.generic(numLoops, {axis}, {logits},
                        {{e.filledF32(reducedSizes, -INFINITY), reduced}},
                        [&](OpBuilder &b, Location loc, ValueRange args) {
                          Value x = extF32(b, loc, args[0]);
                          return SmallVector<Value>{
                              arith::MaximumFOp::create(b, loc, x, args[1])};
                        })[0];
  Value sum = e.generic(
      numLoops, {axis}, {logits, {max, reduced}},
      {{e.zeros(reducedSizes), reduced}},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value x = extF32(b, loc, args[0]);
        Value shifted = arith::SubFOp::create(b, loc, x, args[1]);
        Value exp = math::ExpOp::create(b, loc, shifted);
        return SmallVector<Value>{arith::AddFOp::create(b, loc, args[2], exp)};
      })[0];
  return {max, sum};
}

/// Replaces `op` by `values` (f32 or index results), converting each to the
/// op's result type. A value of another element type (f32 accumulation for
/// an f16/bf16 result) is converted into the op's destination (`outs`); one
/// of the result's element type is used as it is, with a tensor.cast when
/// its sizes came from an operand that knows fewer static dims than the
/// result type (e.g. B is static only in the other one).
void replaceOpCasting(PatternRewriter &rewriter, Operation *op,
                      ValueRange values) {
  Emitter e(rewriter, op->getLoc());
  auto dps = cast<DestinationStyleOpInterface>(op);
  SmallVector<Value> converted;
  for (auto [value, type, init] :
       llvm::zip_equal(values, op->getResultTypes(), dps.getDpsInits())) {
    auto resultType = cast<RankedTensorType>(type);
    Value v = value;
    if (cast<RankedTensorType>(v.getType()).getElementType() !=
        resultType.getElementType())
      v = e.convertInto(v, init);
    if (v.getType() != resultType)
      v = tensor::CastOp::create(rewriter, op->getLoc(), resultType, v);
    converted.push_back(v);
  }
  rewriter.replaceOp(op, converted);
}

//===----------------------------------------------------------------------===//
// soft_assign: softmax over tokens or clusters.
//===----------------------------------------------------------------------===//

struct SoftAssignLowering : OpRewritePattern<SoftAssignOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftAssignOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value logits = op.getLogits();
    bool overTokens = op.getAxis() == SoftAssignAxis::tokens;
    unsigned axis = overTokens ? 2 : 1;
    SmallVector<unsigned, 6> reduced = overTokens
                                           ? SmallVector<unsigned, 6>{0, 1}
                                           : SmallVector<unsigned, 6>{0, 2};
    SmallVector<OpFoldResult> reducedSizes = {e.size(logits, reduced[0]),
                                              e.size(logits, reduced[1])};
    Access all{logits, {0, 1, 2}};
    auto [max, sum] = softmaxStats(e, all, 3, axis, reduced, reducedSizes);
    Type elementType =
        cast<RankedTensorType>(op->getResult(0).getType()).getElementType();
    Value z =
        e.generic(3, {}, {all, {max, reduced}, {sum, reduced}},
                  {{op.getZInit(), {0, 1, 2}}},
                  [&](OpBuilder &b, Location loc, ValueRange args) {
                    Value x = extF32(b, loc, args[0]);
                    Value exp = math::ExpOp::create(
                        b, loc, arith::SubFOp::create(b, loc, x, args[1]));
                    Value p = arith::DivFOp::create(b, loc, exp, args[2]);
                    if (elementType != b.getF32Type())
                      p = arith::TruncFOp::create(b, loc, elementType, p);
                    return SmallVector<Value>{p};
                  })[0];
    replaceOpCasting(rewriter, op, z);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// pool: Y = Z · X.
//===----------------------------------------------------------------------===//

struct PoolLowering : OpRewritePattern<PoolOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PoolOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value z = op.getZ(), x = op.getX();
    // Loops: (b, m, c, n), n reduced. An f32 result accumulates in its
    // destination; f16/bf16 ones in an f32 tensor converted at the end.
    Value acc = cast<RankedTensorType>(op->getResult(0).getType())
                        .getElementType()
                        .isF32()
                    ? linalg::FillOp::create(rewriter, op.getLoc(),
                                             e.f32Const(0.0), op.getYInit())
                          .getResult(0)
                    : e.zeros({e.size(z, 0), e.size(z, 1), e.size(x, 2)});
    Value y =
        e.generic(4, {3}, {{z, {0, 1, 3}}, {x, {0, 3, 2}}}, {{acc, {0, 1, 2}}},
                  [&](OpBuilder &b, Location loc, ValueRange args) {
                    Value prod =
                        arith::MulFOp::create(b, loc, extF32(b, loc, args[0]),
                                              extF32(b, loc, args[1]));
                    return SmallVector<Value>{
                        arith::AddFOp::create(b, loc, args[2], prod)};
                  })[0];
    replaceOpCasting(rewriter, op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Segment reductions shared by aggregate and kmeans.
//===----------------------------------------------------------------------===//

/// Σ_{assign[n]=m} w_n · X[n] as [B, M, C] and Σ_{assign[n]=m} w_n as
/// [B, M], in f32, with w = 1 when `weights` is null. Out-of-range entries
/// of `assign` match no cluster.
std::pair<Value, Value> segmentSums(Emitter &e, Value x, Value assign,
                                    Value weights, OpFoldResult clusters) {
  OpFoldResult batch = e.size(x, 0), channels = e.size(x, 2);
  // Loops: (b, m, c, n), n reduced.
  SmallVector<Access> ins = {{x, {0, 3, 2}}, {assign, {0, 3}}};
  if (weights)
    ins.push_back({weights, {0, 3}});
  Value sums = e.generic(
      4, {3}, ins, {{e.zeros({batch, clusters, channels}), {0, 1, 2}}},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value member = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                             args[1], loopIndexI32(b, loc, 1));
        Value v = extF32(b, loc, args[0]);
        if (weights)
          v = arith::MulFOp::create(b, loc, v, extF32(b, loc, args[2]));
        Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
        Value contribution = arith::SelectOp::create(b, loc, member, v, zero);
        return SmallVector<Value>{
            arith::AddFOp::create(b, loc, args.back(), contribution)};
      })[0];
  // Loops: (b, m, n), n reduced.
  SmallVector<Access> countIns = {{assign, {0, 2}}};
  if (weights)
    countIns.push_back({weights, {0, 2}});
  Value counts = e.generic(
      3, {2}, countIns, {{e.zeros({batch, clusters}), {0, 1}}},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value member = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                             args[0], loopIndexI32(b, loc, 1));
        Value one = weights ? extF32(b, loc, args[1])
                            : Value(arith::ConstantOp::create(
                                  b, loc, b.getF32FloatAttr(1.0)));
        Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
        Value contribution = arith::SelectOp::create(b, loc, member, one, zero);
        return SmallVector<Value>{
            arith::AddFOp::create(b, loc, args.back(), contribution)};
      })[0];
  return {sums, counts};
}

//===----------------------------------------------------------------------===//
// aggregate: hard segment sum / mean / weighted mean.
//===----------------------------------------------------------------------===//

struct AggregateLowering : OpRewritePattern<AggregateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AggregateOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value x = op.getX();
    auto [sums, counts] = segmentSums(e, x, op.getAssign(), op.getWeights(),
                                      rewriter.getIndexAttr(op.getClusters()));
    Reduction reduction = op.getReduction();
    Value y = sums;
    if (reduction != Reduction::sum) {
      float eps = op.getEps().convertToFloat();
      Value empty = tensor::EmptyOp::create(
          rewriter, op.getLoc(),
          tensor::getMixedSizes(rewriter, op.getLoc(), sums), e.f32());
      y = e.generic(
          3, {}, {{sums, {0, 1, 2}}, {counts, {0, 1}}}, {{empty, {0, 1, 2}}},
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value denominator;
            if (reduction == Reduction::mean)
              denominator = arith::MaximumFOp::create(
                  b, loc, args[1],
                  arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0)));
            else
              denominator = arith::AddFOp::create(
                  b, loc, args[1],
                  arith::ConstantOp::create(b, loc, b.getF32FloatAttr(eps)));
            return SmallVector<Value>{
                arith::DivFOp::create(b, loc, args[0], denominator)};
          })[0];
    }
    replaceOpCasting(rewriter, op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// broadcast: X[n] = Y[assign[n]], zero when out of range.
//===----------------------------------------------------------------------===//

struct BroadcastLowering : OpRewritePattern<BroadcastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BroadcastOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value y = op.getY(), assign = op.getAssign();
    Value clusters = e.dim(y, 1);
    Value x = e.zeros({e.size(y, 0), e.size(assign, 1), e.size(y, 2)});
    // Loops: (b, n, c).
    x = e.generic(3, {}, {{assign, {0, 1}}}, {{x, {0, 1, 2}}},
                  [&](OpBuilder &b, Location loc, ValueRange args) {
                    Value valid = inRange(b, loc, args[0], clusters);
                    Value row = toIndex(b, loc, args[0]);
                    Value batch = linalg::IndexOp::create(b, loc, 0);
                    Value channel = linalg::IndexOp::create(b, loc, 2);
                    return SmallVector<Value>{guardedExtract(
                        b, loc, valid, y, {batch, row, channel})};
                  })[0];
    replaceOpCasting(rewriter, op, x);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// attention: Σ_s softmax_m(scale · Q·K_sᵀ) · V_s.
//===----------------------------------------------------------------------===//

struct AttentionLowering : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value q = op.getQ();
    Value scale = e.attentionScale(op.getScale(), q, 3);
    Value values0 = op.getValues()[0];
    SmallVector<OpFoldResult> rowSizes = {e.size(q, 0), e.size(q, 1),
                                          e.size(q, 2)};
    Value out =
        e.zeros({e.size(q, 0), e.size(q, 1), e.size(q, 2), e.size(values0, 3)});
    for (auto [k, v] : llvm::zip_equal(op.getKeys(), op.getValues())) {
      // Scores, loops (b, h, n, m, d), d reduced.
      Value scores =
          e.zeros({e.size(q, 0), e.size(q, 1), e.size(q, 2), e.size(k, 2)});
      scores = e.generic(5, {4}, {{q, {0, 1, 2, 4}}, {k, {0, 1, 3, 4}}},
                         {{scores, {0, 1, 2, 3}}},
                         [&](OpBuilder &b, Location loc, ValueRange args) {
                           Value prod = arith::MulFOp::create(
                               b, loc, extF32(b, loc, args[0]),
                               extF32(b, loc, args[1]));
                           return SmallVector<Value>{
                               arith::AddFOp::create(b, loc, args[2], prod)};
                         })[0];
      Value scaled =
          e.generic(4, {}, {}, {{scores, {0, 1, 2, 3}}},
                    [&](OpBuilder &b, Location loc, ValueRange args) {
                      return SmallVector<Value>{
                          arith::MulFOp::create(b, loc, args[0], scale)};
                    })[0];
      // Softmax over m (loop 3) of loops (b, h, n, m).
      SmallVector<unsigned, 6> rows = {0, 1, 2};
      auto [max, sum] =
          softmaxStats(e, {scaled, {0, 1, 2, 3}}, 4, 3, rows, rowSizes);
      // O += P · V, loops (b, h, n, e, m), m reduced.
      out = e.generic(
          5, {4},
          {{scaled, {0, 1, 2, 4}}, {max, rows}, {sum, rows}, {v, {0, 1, 4, 3}}},
          {{out, {0, 1, 2, 3}}},
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value exp = math::ExpOp::create(
                b, loc, arith::SubFOp::create(b, loc, args[0], args[1]));
            Value p = arith::DivFOp::create(b, loc, exp, args[2]);
            Value pv =
                arith::MulFOp::create(b, loc, p, extF32(b, loc, args[3]));
            return SmallVector<Value>{
                arith::AddFOp::create(b, loc, args[4], pv)};
          })[0];
    }
    replaceOpCasting(rewriter, op, out);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// kmeans: Lloyd iterations in an scf.for.
//===----------------------------------------------------------------------===//

/// Rows of `x` [B, R, C] divided by max(‖row‖, 1e-12).
Value normaliseRows(Emitter &e, Value x) {
  SmallVector<OpFoldResult> rows = {e.size(x, 0), e.size(x, 1)};
  Value sumSq = e.generic(
      3, {2}, {{x, {0, 1, 2}}}, {{e.zeros(rows), {0, 1}}},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value sq = arith::MulFOp::create(b, loc, args[0], args[0]);
        return SmallVector<Value>{arith::AddFOp::create(b, loc, args[1], sq)};
      })[0];
  Value empty = tensor::EmptyOp::create(
      e.builder(), e.location(),
      tensor::getMixedSizes(e.builder(), e.location(), x), e.f32());
  return e.generic(
      3, {}, {{x, {0, 1, 2}}, {sumSq, {0, 1}}}, {{empty, {0, 1, 2}}},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value norm = math::SqrtOp::create(b, loc, args[1]);
        Value eps = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1e-12));
        Value clamped = arith::MaximumFOp::create(b, loc, norm, eps);
        return SmallVector<Value>{
            arith::DivFOp::create(b, loc, args[0], clamped)};
      })[0];
}

/// Index and value of the minimum of `dist` [B, R, K] over K (lower index on
/// ties), as ([B, R] i32, [B, R] f32).
std::pair<Value, Value> argminLast(Emitter &e, Value dist) {
  SmallVector<OpFoldResult> rows = {e.size(dist, 0), e.size(dist, 1)};
  SmallVector<Value> results = e.generic(
      3, {2}, {{dist, {0, 1, 2}}},
      {{e.filledF32(rows, INFINITY), {0, 1}}, {e.filledI32(rows, 0), {0, 1}}},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value better = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                             args[0], args[1]);
        return SmallVector<Value>{
            arith::SelectOp::create(b, loc, better, args[0], args[1]),
            arith::SelectOp::create(b, loc, better, loopIndexI32(b, loc, 2),
                                    args[2])};
      });
  return {results[1], results[0]};
}

struct KMeansLowering : OpRewritePattern<KMeansOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(KMeansOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Emitter e(rewriter, loc);
    bool cosine = op.getMetric() == KMeansMetric::cosine;
    int64_t numClusters = op.getClusters();
    Value x = e.toF32(op.getX());
    Value points = cosine ? normaliseRows(e, x) : x;
    OpFoldResult batch = e.size(x, 0), channels = e.size(x, 2);
    OpFoldResult clusters = rewriter.getIndexAttr(numClusters);
    Value tokens = e.dim(x, 1);

    Value centroids;
    if (Value init = op.getInit()) {
      centroids = e.toF32(init);
    } else {
      // μ⁰[m] = X[floor(m·N/M)]; guarded because N = 0 has no rows.
      Value mValue = e.indexConst(numClusters);
      centroids = e.generic(
          3, {}, {}, {{e.zeros({batch, clusters, channels}), {0, 1, 2}}},
          [&](OpBuilder &b, Location l, ValueRange) {
            Value m = linalg::IndexOp::create(b, l, 1);
            Value row = arith::DivUIOp::create(
                b, l, arith::MulIOp::create(b, l, m, tokens), mValue);
            Value rowI32 =
                arith::IndexCastOp::create(b, l, b.getI32Type(), row);
            Value valid = inRange(b, l, rowI32, tokens);
            Value batchIdx = linalg::IndexOp::create(b, l, 0);
            Value channel = linalg::IndexOp::create(b, l, 2);
            return SmallVector<Value>{
                guardedExtract(b, l, valid, x, {batchIdx, row, channel})};
          })[0];
    }
    Value assign = e.filledI32({batch, e.size(x, 1)}, 0);

    auto loop = scf::ForOp::create(
        rewriter, loc, e.indexConst(0), e.indexConst(op.getIterations()),
        e.indexConst(1), ValueRange{centroids, assign},
        [&](OpBuilder &b, Location l, Value, ValueRange iterArgs) {
          Emitter inner(b, l);
          Value mu = iterArgs[0];
          Value muForDistance = cosine ? normaliseRows(inner, mu) : mu;
          // Distances [B, N, M], loops (b, n, m, c), c reduced.
          Value dist = inner.generic(
              4, {3}, {{points, {0, 1, 3}}, {muForDistance, {0, 2, 3}}},
              {{inner.zeros({batch, inner.size(x, 1), clusters}), {0, 1, 2}}},
              [&](OpBuilder &nb, Location nl, ValueRange args) {
                Value term;
                if (cosine) {
                  term = arith::MulFOp::create(nb, nl, args[0], args[1]);
                } else {
                  Value diff = arith::SubFOp::create(nb, nl, args[0], args[1]);
                  term = arith::MulFOp::create(nb, nl, diff, diff);
                }
                return SmallVector<Value>{
                    arith::AddFOp::create(nb, nl, args[2], term)};
              })[0];
          if (cosine) {
            // 1 - x̂·μ̂ orders like -x̂·μ̂; keep the op's defined form.
            dist =
                inner.generic(3, {}, {}, {{dist, {0, 1, 2}}},
                              [&](OpBuilder &nb, Location nl, ValueRange args) {
                                Value one = arith::ConstantOp::create(
                                    nb, nl, nb.getF32FloatAttr(1.0));
                                return SmallVector<Value>{arith::SubFOp::create(
                                    nb, nl, one, args[0])};
                              })[0];
          }
          Value newAssign = argminLast(inner, dist).first;
          auto [sums, counts] =
              segmentSums(inner, points, newAssign, Value(), clusters);
          // μ^{t-1} is an input, not the destination: in the first
          // iteration it may be the caller's `init`, which an in-place
          // update would overwrite once bufferized.
          Value newMu = inner.generic(
              3, {}, {{sums, {0, 1, 2}}, {counts, {0, 1}}, {mu, {0, 1, 2}}},
              {{inner.zeros(tensor::getMixedSizes(b, l, mu)), {0, 1, 2}}},
              [&](OpBuilder &nb, Location nl, ValueRange args) {
                Value zero =
                    arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0.0));
                Value nonEmpty = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OGT, args[1], zero);
                Value mean = arith::DivFOp::create(nb, nl, args[0], args[1]);
                return SmallVector<Value>{
                    arith::SelectOp::create(nb, nl, nonEmpty, mean, args[2])};
              })[0];
          scf::YieldOp::create(b, l, ValueRange{newMu, newAssign});
        });
    replaceOpCasting(rewriter, op,
                     ValueRange{loop.getResult(1), loop.getResult(0)});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Ranking shared by dpc_knn and topk_members.
//===----------------------------------------------------------------------===//

/// True when candidate (value `vc`, index `ic`) ranks before (value `v`,
/// index `i`) in descending order with ties to the lower index.
Value ranksBefore(OpBuilder &b, Location loc, Value vc, Value ic, Value v,
                  Value i) {
  Value greater =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, vc, v);
  Value equal = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, vc, v);
  Value earlier =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, ic, i);
  return arith::OrIOp::create(b, loc, greater,
                              arith::AndIOp::create(b, loc, equal, earlier));
}

Value countIf(OpBuilder &b, Location loc, Value condition, Value count) {
  Value one = arith::ConstantIntOp::create(b, loc, 1, 32);
  Value zero = arith::ConstantIntOp::create(b, loc, 0, 32);
  return arith::AddIOp::create(
      b, loc, count, arith::SelectOp::create(b, loc, condition, one, zero));
}

//===----------------------------------------------------------------------===//
// dpc_knn: density peaks with k-nearest-neighbour density.
//===----------------------------------------------------------------------===//

/// dpc_knn's k up to this many slots is a chain of k tensors updated by one
/// linalg.generic; larger k is an scf.for over tokens on one [B, N, k]
/// tensor, so code size, compile time and the GPU kernels' parameter
/// lists do not grow with k.
constexpr int64_t kMaxUnrolledSlots = 16;

/// ρ = exp(−mean of the min(k, N) smallest D² per row), with `dist` D
/// [B, N, N]: the k smallest as a sorted insertion chain, slot t keeping
/// the t-th smallest seen so far, loops (b, i, j), j reduced.
Value densityUnrolled(Emitter &e, Value dist, ArrayRef<OpFoldResult> rows,
                      Value tokens, int64_t k) {
  OpBuilder &rewriter = e.builder();
  Location loc = e.location();
  SmallVector<Access> slots;
  for (int64_t t = 0; t < k; ++t)
    slots.push_back({e.filledF32(rows, INFINITY), {0, 1}});
  SmallVector<Value> smallest = e.generic(
      3, {2}, {{dist, {0, 1, 2}}}, slots,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value carry = arith::MulFOp::create(b, l, args[0], args[0]);
        SmallVector<Value> updated;
        for (int64_t t = 0; t < k; ++t) {
          Value slot = args[1 + t];
          updated.push_back(arith::MinimumFOp::create(b, l, slot, carry));
          carry = arith::MaximumFOp::create(b, l, slot, carry);
        }
        return updated;
      });
  Value used = arith::MinUIOp::create(rewriter, loc, e.indexConst(k), tokens);
  Value usedF32 = arith::SIToFPOp::create(
      rewriter, loc, e.f32(),
      arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(), used));
  SmallVector<Access> slotIns;
  for (Value s : smallest)
    slotIns.push_back({s, {0, 1}});
  return e.generic(
      2, {}, slotIns, {{e.zeros(rows), {0, 1}}},
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value sum = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0));
        for (int64_t t = 0; t < k; ++t) {
          Value filled = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ult,
              arith::ConstantIndexOp::create(b, l, t), used);
          Value term = arith::SelectOp::create(
              b, l, filled, args[t],
              arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0)));
          sum = arith::AddFOp::create(b, l, sum, term);
        }
        Value mean = arith::DivFOp::create(b, l, sum, usedF32);
        return SmallVector<Value>{
            math::ExpOp::create(b, l, arith::NegFOp::create(b, l, mean))};
      })[0];
}

/// densityUnrolled for any k. With k >= N every D² counts, and the mean is
/// a plain reduction. Otherwise slots [B, N, k] hold each row's k smallest
/// D² in ascending order, and an scf.for over tokens j inserts D²[:, :, j]
/// with one generic over (b, i, t): new[t] = min(old[t], max(old[t-1], v))
/// (old[-1] = -inf) is the sorted insertion, each slot independent.
Value densityLooped(Emitter &e, Value dist, OpFoldResult batch,
                    OpFoldResult tokensSize, int64_t k) {
  OpBuilder &rewriter = e.builder();
  Location loc = e.location();
  Value tokens = getValueOrCreateConstantIndexOp(rewriter, loc, tokensSize);
  Value zero = e.indexConst(0), one = e.indexConst(1), kIndex = e.indexConst(k);
  Value takeAll = arith::CmpIOp::create(
      rewriter, loc, arith::CmpIPredicate::uge, kIndex, tokens);
  // With k >= N: one unused slot and no insertion steps.
  Value slotCount =
      arith::SelectOp::create(rewriter, loc, takeAll, one, kIndex);
  Value steps = arith::SelectOp::create(rewriter, loc, takeAll, zero, tokens);
  SmallVector<OpFoldResult> rows = {batch, tokensSize};
  SmallVector<OpFoldResult> slotSizes = {batch, tokensSize, slotCount};
  auto distType = cast<RankedTensorType>(dist.getType());
  auto columnType = RankedTensorType::get(
      {distType.getDimSize(0), distType.getDimSize(1)}, e.f32());
  auto loop = scf::ForOp::create(
      rewriter, loc, zero, steps, one,
      ValueRange{e.filledF32(slotSizes, INFINITY)},
      [&](OpBuilder &b, Location l, Value j, ValueRange iter) {
        Emitter inner(b, l);
        Value old = iter[0];
        Value column = tensor::ExtractSliceOp::create(
            b, l, columnType, dist,
            ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0), j},
            ArrayRef<OpFoldResult>{batch, tokensSize, b.getIndexAttr(1)},
            ArrayRef<OpFoldResult>(
                SmallVector<OpFoldResult>(3, b.getIndexAttr(1))));
        Value empty = tensor::EmptyOp::create(b, l, slotSizes, e.f32());
        Value next = inner.generic(
            3, {}, {{column, {0, 1}}, {old, {0, 1, 2}}}, {{empty, {0, 1, 2}}},
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value v = arith::MulFOp::create(nb, nl, args[0], args[0]);
              Value t = linalg::IndexOp::create(nb, nl, 2);
              Value c0 = arith::ConstantIndexOp::create(nb, nl, 0);
              Value c1 = arith::ConstantIndexOp::create(nb, nl, 1);
              Value hasPrev = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::ugt, t, c0);
              Value prevSlot = arith::SelectOp::create(
                  nb, nl, hasPrev, arith::SubIOp::create(nb, nl, t, c1), c0);
              Value prev = tensor::ExtractOp::create(
                  nb, nl, old,
                  ValueRange{linalg::IndexOp::create(nb, nl, 0),
                             linalg::IndexOp::create(nb, nl, 1), prevSlot});
              prev = arith::SelectOp::create(
                  nb, nl, hasPrev, prev,
                  arith::ConstantOp::create(nb, nl,
                                            nb.getF32FloatAttr(-INFINITY)));
              Value carried = arith::MaximumFOp::create(nb, nl, prev, v);
              return SmallVector<Value>{
                  arith::MinimumFOp::create(nb, nl, args[1], carried)};
            })[0];
        scf::YieldOp::create(b, l, next);
      });
  auto sumOver = [&](Value tensor, bool square) {
    return e.generic(3, {2}, {{tensor, {0, 1, 2}}}, {{e.zeros(rows), {0, 1}}},
                     [&](OpBuilder &b, Location l, ValueRange args) {
                       Value v = args[0];
                       if (square)
                         v = arith::MulFOp::create(b, l, v, v);
                       return SmallVector<Value>{
                           arith::AddFOp::create(b, l, args[1], v)};
                     })[0];
  };
  Value listed = sumOver(loop.getResult(0), /*square=*/false);
  Value all = sumOver(dist, /*square=*/true);
  Value used = arith::MinUIOp::create(rewriter, loc, kIndex, tokens);
  Value usedF32 = arith::SIToFPOp::create(
      rewriter, loc, e.f32(),
      arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(), used));
  return e.generic(
      2, {}, {{listed, {0, 1}}, {all, {0, 1}}}, {{e.zeros(rows), {0, 1}}},
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value sum = arith::SelectOp::create(b, l, takeAll, args[1], args[0]);
        Value mean = arith::DivFOp::create(b, l, sum, usedF32);
        return SmallVector<Value>{
            math::ExpOp::create(b, l, arith::NegFOp::create(b, l, mean))};
      })[0];
}

struct DpcKnnLowering : OpRewritePattern<DpcKnnOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DpcKnnOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Emitter e(rewriter, loc);
    Value x = e.toF32(op.getX());
    OpFoldResult batch = e.size(x, 0), tokensSize = e.size(x, 1);
    Value tokens = e.dim(x, 1);
    SmallVector<OpFoldResult> rows = {batch, tokensSize};
    int64_t k = op.getK();

    // D[i,j] = ‖x_i − x_j‖ / sqrt(C), loops (b, i, j, c), c reduced.
    Value sq = e.generic(
        4, {3}, {{x, {0, 1, 3}}, {x, {0, 2, 3}}},
        {{e.zeros({batch, tokensSize, tokensSize}), {0, 1, 2}}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value diff = arith::SubFOp::create(b, l, args[0], args[1]);
          Value term = arith::MulFOp::create(b, l, diff, diff);
          return SmallVector<Value>{arith::AddFOp::create(b, l, args[2], term)};
        })[0];
    Value channels = arith::SIToFPOp::create(
        rewriter, loc, e.f32(),
        arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(),
                                   e.dim(x, 2)));
    Value invSqrtC =
        arith::DivFOp::create(rewriter, loc, e.f32Const(1.0),
                              math::SqrtOp::create(rewriter, loc, channels));
    Value dist = e.generic(3, {}, {}, {{sq, {0, 1, 2}}},
                           [&](OpBuilder &b, Location l, ValueRange args) {
                             Value norm = math::SqrtOp::create(b, l, args[0]);
                             return SmallVector<Value>{
                                 arith::MulFOp::create(b, l, norm, invSqrtC)};
                           })[0];

    Value density = k <= kMaxUnrolledSlots
                        ? densityUnrolled(e, dist, rows, tokens, k)
                        : densityLooped(e, dist, batch, tokensSize, k);

    // δ_i = min over denser j of D[i,j]; `found` marks tokens with a denser
    // one. Loops (b, i, j), j reduced.
    SmallVector<Value> deltaAndFound = e.generic(
        3, {2}, {{dist, {0, 1, 2}}, {density, {0, 2}}, {density, {0, 1}}},
        {{e.filledF32(rows, INFINITY), {0, 1}},
         {e.full(rows, rewriter.getI1Type(), rewriter.getBoolAttr(false)),
          {0, 1}}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value denser = ranksBefore(b, l, args[1], loopIndexI32(b, l, 2),
                                     args[2], loopIndexI32(b, l, 1));
          Value closer = arith::MinimumFOp::create(b, l, args[3], args[0]);
          return SmallVector<Value>{
              arith::SelectOp::create(b, l, denser, closer, args[3]),
              arith::OrIOp::create(b, l, args[4], denser)};
        });
    // max D per batch item, for the densest token.
    Value maxDist =
        e.generic(3, {1, 2}, {{dist, {0, 1, 2}}},
                  {{e.filledF32({batch}, -INFINITY), {0}}},
                  [&](OpBuilder &b, Location l, ValueRange args) {
                    return SmallVector<Value>{
                        arith::MaximumFOp::create(b, l, args[0], args[1])};
                  })[0];
    Value score = e.generic(2, {},
                            {{density, {0, 1}},
                             {deltaAndFound[0], {0, 1}},
                             {deltaAndFound[1], {0, 1}},
                             {maxDist, {0}}},
                            {{e.zeros(rows), {0, 1}}},
                            [&](OpBuilder &b, Location l, ValueRange args) {
                              Value delta = arith::SelectOp::create(
                                  b, l, args[2], args[1], args[3]);
                              return SmallVector<Value>{
                                  arith::MulFOp::create(b, l, args[0], delta)};
                            })[0];
    // rank_i = number of tokens ranking before i by descending score.
    Value rank =
        e.generic(3, {2}, {{score, {0, 2}}, {score, {0, 1}}},
                  {{e.filledI32(rows, 0), {0, 1}}},
                  [&](OpBuilder &b, Location l, ValueRange args) {
                    Value before =
                        ranksBefore(b, l, args[0], loopIndexI32(b, l, 2),
                                    args[1], loopIndexI32(b, l, 1));
                    return SmallVector<Value>{countIf(b, l, before, args[2])};
                  })[0];

    // All scales at once: loop `s` reads its cluster count M_s from a select
    // chain over the (few, static) scales.
    ArrayRef<int64_t> scales = op.getClusters();
    auto clusterCount = [&](OpBuilder &b, Location l, unsigned scaleLoop) {
      Value s = linalg::IndexOp::create(b, l, scaleLoop);
      Value count = arith::ConstantIntOp::create(b, l, scales.front(), 32);
      for (auto [i, m] : llvm::enumerate(scales.drop_front())) {
        Value isScale =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, s,
                                  arith::ConstantIndexOp::create(b, l, i + 1));
        count = arith::SelectOp::create(
            b, l, isScale, arith::ConstantIntOp::create(b, l, m, 32), count);
      }
      return count;
    };
    OpFoldResult numScales = rewriter.getIndexAttr(scales.size());
    OpFoldResult maxClusters = rewriter.getIndexAttr(op.getMaxClusters());
    // centers[s][m] = the token of rank m, for m < M_s; -1 after. Loops
    // (b, s, m, i), i reduced.
    Value centers = e.generic(
        4, {3}, {{rank, {0, 3}}},
        {{e.filledI32({batch, numScales, maxClusters}, -1), {0, 1, 2}}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value m = loopIndexI32(b, l, 2);
          Value isCenter = arith::AndIOp::create(
              b, l,
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, args[0], m),
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, m,
                                    clusterCount(b, l, 1)));
          return SmallVector<Value>{arith::SelectOp::create(
              b, l, isCenter, loopIndexI32(b, l, 3), args[1])};
        })[0];
    // Nearest centre over the filled slots. Loops (b, s, i, m), m reduced.
    SmallVector<OpFoldResult> scaleRows = {batch, numScales, tokensSize};
    Value nearest =
        e.generic(4, {3}, {{centers, {0, 1, 3}}},
                  {{e.filledF32(scaleRows, INFINITY), {0, 1, 2}},
                   {e.filledI32(scaleRows, 0), {0, 1, 2}}},
                  [&](OpBuilder &b, Location l, ValueRange args) {
                    Value valid = inRange(b, l, args[0], tokens);
                    Value d = guardedExtract(b, l, valid, dist,
                                             {linalg::IndexOp::create(b, l, 0),
                                              linalg::IndexOp::create(b, l, 2),
                                              toIndex(b, l, args[0])});
                    Value better = arith::AndIOp::create(
                        b, l, valid,
                        arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT,
                                              d, args[1]));
                    return SmallVector<Value>{
                        arith::SelectOp::create(b, l, better, d, args[1]),
                        arith::SelectOp::create(
                            b, l, better, loopIndexI32(b, l, 3), args[2])};
                  })[1];
    // Centres are forced into their own cluster: rank < M_s wins. Loops
    // (b, s, i).
    Value assign = e.generic(
        3, {}, {{rank, {0, 2}}}, {{nearest, {0, 1, 2}}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value isCenter = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::slt, args[0], clusterCount(b, l, 1));
          return SmallVector<Value>{
              arith::SelectOp::create(b, l, isCenter, args[0], args[1])};
        })[0];
    replaceOpCasting(rewriter, op, ValueRange{assign, centers});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// topk_members: rank-based Top-K and SA-Top-K.
//===----------------------------------------------------------------------===//

struct TopKMembersLowering : OpRewritePattern<TopKMembersOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TopKMembersOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc());
    Value g = op.getG();
    OpFoldResult batch = e.size(g, 0), tokens = e.size(g, 1),
                 clusters = e.size(g, 2);
    OpFoldResult capacity = rewriter.getIndexAttr(op.getCapacity());
    Value members = e.filledI32({batch, clusters, capacity}, -1);

    if (!op.getExclusive()) {
      // rank[n, m] among the tokens of column m. Loops (b, n, m, n').
      Value rank =
          e.generic(4, {3}, {{g, {0, 3, 2}}, {g, {0, 1, 2}}},
                    {{e.filledI32({batch, tokens, clusters}, 0), {0, 1, 2}}},
                    [&](OpBuilder &b, Location l, ValueRange args) {
                      Value before = ranksBefore(
                          b, l, extF32(b, l, args[0]), loopIndexI32(b, l, 3),
                          extF32(b, l, args[1]), loopIndexI32(b, l, 1));
                      return SmallVector<Value>{countIf(b, l, before, args[2])};
                    })[0];
      // members[m, r] = the token of rank r. Loops (b, m, r, n).
      members = e.generic(4, {3}, {{rank, {0, 3, 1}}}, {{members, {0, 1, 2}}},
                          [&](OpBuilder &b, Location l, ValueRange args) {
                            Value hit = arith::CmpIOp::create(
                                b, l, arith::CmpIPredicate::eq, args[0],
                                loopIndexI32(b, l, 2));
                            return SmallVector<Value>{arith::SelectOp::create(
                                b, l, hit, loopIndexI32(b, l, 3), args[1])};
                          })[0];
      replaceOpCasting(rewriter, op, members);
      return success();
    }

    // owner[n] = argmax_m G[n, m], lower m on ties. Loops (b, n, m).
    SmallVector<OpFoldResult> rows = {batch, tokens};
    Value owner =
        e.generic(3, {2}, {{g, {0, 1, 2}}},
                  {{e.filledF32(rows, -INFINITY), {0, 1}},
                   {e.filledI32(rows, 0), {0, 1}}},
                  [&](OpBuilder &b, Location l, ValueRange args) {
                    Value v = extF32(b, l, args[0]);
                    Value better = arith::CmpFOp::create(
                        b, l, arith::CmpFPredicate::OGT, v, args[1]);
                    return SmallVector<Value>{
                        arith::SelectOp::create(b, l, better, v, args[1]),
                        arith::SelectOp::create(
                            b, l, better, loopIndexI32(b, l, 2), args[2])};
                  })[1];
    // rank[n] among the tokens with the same owner, by G[·, owner].
    // Loops (b, n, n'), n' reduced; owners are in range by construction.
    Value rank = e.generic(
        3, {2}, {{owner, {0, 2}}, {owner, {0, 1}}},
        {{e.filledI32(rows, 0), {0, 1}}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value batchIdx = linalg::IndexOp::create(b, l, 0);
          Value column = toIndex(b, l, args[1]);
          Value other = tensor::ExtractOp::create(
              b, l, g,
              ValueRange{batchIdx, linalg::IndexOp::create(b, l, 2), column});
          Value self = tensor::ExtractOp::create(
              b, l, g,
              ValueRange{batchIdx, linalg::IndexOp::create(b, l, 1), column});
          Value sameOwner = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::eq, args[0], args[1]);
          Value before =
              ranksBefore(b, l, extF32(b, l, other), loopIndexI32(b, l, 2),
                          extF32(b, l, self), loopIndexI32(b, l, 1));
          return SmallVector<Value>{countIf(
              b, l, arith::AndIOp::create(b, l, sameOwner, before), args[2])};
        })[0];
    // Loops (b, m, r, n).
    members = e.generic(
        4, {3}, {{owner, {0, 3}}, {rank, {0, 3}}}, {{members, {0, 1, 2}}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value owned = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                              args[0], loopIndexI32(b, l, 1));
          Value atSlot = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                               args[1], loopIndexI32(b, l, 2));
          Value hit = arith::AndIOp::create(b, l, owned, atSlot);
          return SmallVector<Value>{arith::SelectOp::create(
              b, l, hit, loopIndexI32(b, l, 3), args[2])};
        })[0];
    replaceOpCasting(rewriter, op, members);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// cluster_attention: intra-cluster attention with cluster summaries.
//===----------------------------------------------------------------------===//

struct ClusterAttentionLowering : OpRewritePattern<ClusterAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ClusterAttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Emitter e(rewriter, loc);
    Value q = op.getQ(), k = op.getK(), v = op.getV(), aq = op.getAq(),
          ak = op.getAk(), members = op.getMembers();
    bool summaries = op.getSummaries();
    Value scale = e.attentionScale(op.getScale(), q, 3);
    OpFoldResult batch = e.size(q, 0), heads = e.size(q, 1),
                 tokensSize = e.size(q, 2), headDim = e.size(q, 3),
                 valueDim = e.size(v, 3), clusters = e.size(members, 1),
                 capacity = e.size(members, 2);
    Value tokens = e.dim(q, 2);

    // R[m] = Σ_n softmax_n(Ak[n, m]) V[n]. Loops (b, h, m, n), n reduced.
    SmallVector<unsigned, 6> bhm = {0, 1, 2};
    Access akByCluster{ak, {0, 1, 3, 2}};
    auto [akMax, akSum] =
        softmaxStats(e, akByCluster, 4, 3, bhm, {batch, heads, clusters});
    // Loops (b, h, m, e, n), n reduced.
    Value summary = e.generic(
        5, {4},
        {{ak, {0, 1, 4, 2}},
         {akMax, {0, 1, 2}},
         {akSum, {0, 1, 2}},
         {v, {0, 1, 4, 3}}},
        {{e.zeros({batch, heads, clusters, valueDim}), {0, 1, 2, 3}}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value exp = math::ExpOp::create(
              b, l,
              arith::SubFOp::create(b, l, extF32(b, l, args[0]), args[1]));
          Value p = arith::DivFOp::create(b, l, exp, args[2]);
          Value pv = arith::MulFOp::create(b, l, p, extF32(b, l, args[3]));
          return SmallVector<Value>{arith::AddFOp::create(b, l, args[4], pv)};
        })[0];

    // Gather per member slot: rows of Q, K, V and Aq ([B,H,M,κ,·]), zero for
    // empty slots. Loops (b, h, m, i, c).
    auto gather = [&](Value source, OpFoldResult width) {
      return e.generic(
          5, {}, {{members, {0, 2, 3}}},
          {{e.zeros({batch, heads, clusters, capacity, width}),
            {0, 1, 2, 3, 4}}},
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value valid = inRange(b, l, args[0], tokens);
            return SmallVector<Value>{guardedExtract(
                b, l, valid, source,
                {linalg::IndexOp::create(b, l, 0),
                 linalg::IndexOp::create(b, l, 1), toIndex(b, l, args[0]),
                 linalg::IndexOp::create(b, l, 4)})};
          })[0];
    };
    Value qRows = gather(q, headDim), kRows = gather(k, headDim),
          vRows = gather(v, valueDim), aqRows = gather(aq, clusters);

    // Intra scores s[i, j] = scale · Q[t_i]·K[u_j]. Loops (b,h,m,i,j,d).
    Value scores = e.generic(
        6, {5}, {{qRows, {0, 1, 2, 3, 5}}, {kRows, {0, 1, 2, 4, 5}}},
        {{e.zeros({batch, heads, clusters, capacity, capacity}),
          {0, 1, 2, 3, 4}}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value prod = arith::MulFOp::create(b, l, args[0], args[1]);
          return SmallVector<Value>{arith::AddFOp::create(b, l, args[2], prod)};
        })[0];
    scores = e.generic(5, {}, {}, {{scores, {0, 1, 2, 3, 4}}},
                       [&](OpBuilder &b, Location l, ValueRange args) {
                         return SmallVector<Value>{
                             arith::MulFOp::create(b, l, args[0], scale)};
                       })[0];

    // Row max over valid members j and, with summaries, clusters m' ≠ m.
    SmallVector<OpFoldResult> slotSizes = {batch, heads, clusters, capacity};
    SmallVector<unsigned, 6> slot = {0, 1, 2, 3};
    auto validSlot = [&](OpBuilder &b, Location l, Value member) {
      return inRange(b, l, member, tokens);
    };
    auto isOtherCluster = [&](OpBuilder &b, Location l) {
      return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne,
                                   linalg::IndexOp::create(b, l, 2),
                                   linalg::IndexOp::create(b, l, 4));
    };
    auto maxIf = [](OpBuilder &b, Location l, Value cond, Value x, Value acc) {
      return arith::SelectOp::create(
          b, l, cond, arith::MaximumFOp::create(b, l, acc, x), acc);
    };
    // Loops (b, h, m, i, j), j reduced.
    Value rowMax =
        e.generic(5, {4}, {{scores, {0, 1, 2, 3, 4}}, {members, {0, 2, 4}}},
                  {{e.filledF32(slotSizes, -INFINITY), slot}},
                  [&](OpBuilder &b, Location l, ValueRange args) {
                    return SmallVector<Value>{maxIf(
                        b, l, validSlot(b, l, args[1]), args[0], args[2])};
                  })[0];
    if (summaries) {
      // Loops (b, h, m, i, m'), m' reduced.
      rowMax = e.generic(5, {4}, {{aqRows, {0, 1, 2, 3, 4}}}, {{rowMax, slot}},
                         [&](OpBuilder &b, Location l, ValueRange args) {
                           return SmallVector<Value>{maxIf(
                               b, l, isOtherCluster(b, l), args[0], args[1])};
                         })[0];
    }

    // Numerator [B,H,M,κ,Dv] and denominator [B,H,M,κ].
    auto weightIf = [](OpBuilder &b, Location l, Value cond, Value s,
                       Value max) {
      Value w = math::ExpOp::create(b, l, arith::SubFOp::create(b, l, s, max));
      Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0));
      return arith::SelectOp::create(b, l, cond, w, zero);
    };
    SmallVector<OpFoldResult> slotRowSizes = {batch, heads, clusters, capacity,
                                              valueDim};
    SmallVector<unsigned, 6> slotRow = {0, 1, 2, 3, 4};
    // Loops (b, h, m, i, e, j), j reduced.
    Value numerator = e.generic(
        6, {5},
        {{scores, {0, 1, 2, 3, 5}},
         {members, {0, 2, 5}},
         {rowMax, slot},
         {vRows, {0, 1, 2, 5, 4}}},
        {{e.zeros(slotRowSizes), slotRow}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value w = weightIf(b, l, validSlot(b, l, args[1]), args[0], args[2]);
          Value wv = arith::MulFOp::create(b, l, w, args[3]);
          return SmallVector<Value>{arith::AddFOp::create(b, l, args[4], wv)};
        })[0];
    // Loops (b, h, m, i, j), j reduced.
    Value denominator = e.generic(
        5, {4},
        {{scores, {0, 1, 2, 3, 4}}, {members, {0, 2, 4}}, {rowMax, slot}},
        {{e.zeros(slotSizes), slot}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value w = weightIf(b, l, validSlot(b, l, args[1]), args[0], args[2]);
          return SmallVector<Value>{arith::AddFOp::create(b, l, args[3], w)};
        })[0];
    if (summaries) {
      // Loops (b, h, m, i, e, m'), m' reduced.
      numerator = e.generic(
          6, {5},
          {{aqRows, {0, 1, 2, 3, 5}}, {rowMax, slot}, {summary, {0, 1, 5, 4}}},
          {{numerator, slotRow}},
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value other =
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne,
                                      linalg::IndexOp::create(b, l, 2),
                                      linalg::IndexOp::create(b, l, 5));
            Value w = weightIf(b, l, other, args[0], args[1]);
            Value wr = arith::MulFOp::create(b, l, w, args[2]);
            return SmallVector<Value>{arith::AddFOp::create(b, l, args[3], wr)};
          })[0];
      // Loops (b, h, m, i, m'), m' reduced.
      denominator = e.generic(
          5, {4}, {{aqRows, {0, 1, 2, 3, 4}}, {rowMax, slot}},
          {{denominator, slot}},
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value w = weightIf(b, l, isOtherCluster(b, l), args[0], args[1]);
            return SmallVector<Value>{arith::AddFOp::create(b, l, args[2], w)};
          })[0];
    }
    // o_m(t), zero for empty slots. Loops (b, h, m, i, e).
    Value slotOut = e.generic(
        5, {},
        {{numerator, slotRow}, {denominator, slot}, {members, {0, 2, 3}}},
        {{e.zeros(slotRowSizes), slotRow}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0));
          Value o = arith::DivFOp::create(b, l, args[0], args[1]);
          return SmallVector<Value>{
              arith::SelectOp::create(b, l, validSlot(b, l, args[2]), o, zero)};
        })[0];

    // Scatter-sum of o into token rows and count of slots per token. A
    // scatter has no linalg form, so it is an scf.for nest over tensors.
    Value c0 = e.indexConst(0), c1 = e.indexConst(1);
    Value batchDim = e.dim(q, 0), headsDim = e.dim(q, 1),
          clustersDim = e.dim(members, 1), capacityDim = e.dim(members, 2),
          valueDimV = e.dim(v, 3);
    Value sums = e.zeros({batch, heads, tokensSize, valueDim});
    Value counts = e.zeros({batch, tokensSize});
    scf::LoopNest nest = scf::buildLoopNest(
        rewriter, loc, {c0, c0, c0}, {batchDim, clustersDim, capacityDim},
        {c1, c1, c1}, {sums, counts},
        [&](OpBuilder &b, Location l, ValueRange ivs,
            ValueRange acc) -> scf::ValueVector {
          Value member = tensor::ExtractOp::create(
              b, l, members, ValueRange{ivs[0], ivs[1], ivs[2]});
          Value valid = inRange(b, l, member, tokens);
          auto ifOp = scf::IfOp::create(
              b, l, valid,
              [&](OpBuilder &tb, Location tl) {
                Value t = toIndex(tb, tl, member);
                Value count = tensor::ExtractOp::create(tb, tl, acc[1],
                                                        ValueRange{ivs[0], t});
                Value one =
                    arith::ConstantOp::create(tb, tl, tb.getF32FloatAttr(1.0));
                Value newCounts = tensor::InsertOp::create(
                    tb, tl, arith::AddFOp::create(tb, tl, count, one), acc[1],
                    ValueRange{ivs[0], t});
                scf::LoopNest inner = scf::buildLoopNest(
                    tb, tl, {c0, c0}, {headsDim, valueDimV}, {c1, c1}, {acc[0]},
                    [&](OpBuilder &ib, Location il, ValueRange jvs,
                        ValueRange rows) -> scf::ValueVector {
                      Value o = tensor::ExtractOp::create(
                          ib, il, slotOut,
                          ValueRange{ivs[0], jvs[0], ivs[1], ivs[2], jvs[1]});
                      Value old = tensor::ExtractOp::create(
                          ib, il, rows[0],
                          ValueRange{ivs[0], jvs[0], t, jvs[1]});
                      Value sum = arith::AddFOp::create(ib, il, old, o);
                      return {tensor::InsertOp::create(
                          ib, il, sum, rows[0],
                          ValueRange{ivs[0], jvs[0], t, jvs[1]})};
                    });
                scf::YieldOp::create(tb, tl,
                                     ValueRange{inner.results[0], newCounts});
              },
              [&](OpBuilder &eb, Location el) {
                scf::YieldOp::create(eb, el, acc);
              });
          return llvm::to_vector_of<Value>(ifOp.getResults());
        });
    sums = nest.results[0];
    counts = nest.results[1];

    // Tokens in no cluster: Σ_m softmax_m(Aq[t,:]) R[m], or 0.
    Value fallback = e.zeros({batch, heads, tokensSize, valueDim});
    if (summaries) {
      SmallVector<unsigned, 6> bhn = {0, 1, 2};
      auto [aqMax, aqSum] = softmaxStats(e, {aq, {0, 1, 2, 3}}, 4, 3, bhn,
                                         {batch, heads, tokensSize});
      // Loops (b, h, n, e, m), m reduced.
      fallback = e.generic(
          5, {4},
          {{aq, {0, 1, 2, 4}},
           {aqMax, bhn},
           {aqSum, bhn},
           {summary, {0, 1, 4, 3}}},
          {{fallback, {0, 1, 2, 3}}},
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value exp = math::ExpOp::create(
                b, l,
                arith::SubFOp::create(b, l, extF32(b, l, args[0]), args[1]));
            Value p = arith::DivFOp::create(b, l, exp, args[2]);
            Value pr = arith::MulFOp::create(b, l, p, args[3]);
            return SmallVector<Value>{arith::AddFOp::create(b, l, args[4], pr)};
          })[0];
    }
    // O[t] = mean over its slots, or the fallback. Loops (b, h, n, e).
    Value out = e.generic(
        4, {}, {{sums, {0, 1, 2, 3}}, {counts, {0, 2}}},
        {{fallback, {0, 1, 2, 3}}},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0));
          Value inSome = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                               args[1], zero);
          Value mean = arith::DivFOp::create(b, l, args[0], args[1]);
          return SmallVector<Value>{
              arith::SelectOp::create(b, l, inSome, mean, args[2])};
        })[0];
    replaceOpCasting(rewriter, op, out);
    return success();
  }
};

struct ConvertClusToLinalgPass
    : clusopt::impl::ConvertClusToLinalgBase<ConvertClusToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(requireValueSemantics(getOperation(), getArgument())))
      return signalPassFailure();
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    patterns
        .add<SoftAssignLowering, PoolLowering, KMeansLowering, DpcKnnLowering,
             AggregateLowering, BroadcastLowering, AttentionLowering,
             TopKMembersLowering, ClusterAttentionLowering>(context);
    ConversionTarget target(*context);
    target.addIllegalDialect<ClusDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (keepGpuKernelOps) {
      target.addDynamicallyLegalDialect<ClusDialect>(hasGpuKernel);
      // In the GPU pipeline every op's location carries its name, so that
      // the kernels made from it (outlined much later, from loops) can
      // still name it in diagnostics (clus-gpu-check-kernel-params).
      getOperation()->walk([](Operation *op) {
        if (isa<ClusDialect>(op->getDialect()) && !isa<NameLoc>(op->getLoc()))
          op->setLoc(NameLoc::get(op->getName().getIdentifier(), op->getLoc()));
      });
    }
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

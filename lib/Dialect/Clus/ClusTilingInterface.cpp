//===- ClusTilingInterface.cpp - TilingInterface for the clus ops -*- C++
//-*-===//
//
// Every clus op is tiled along its parallel dims only: batch, heads and the
// rows whose results do not depend on each other (queries of attention,
// clusters of pool, tokens of broadcast, ...). An op's tile is the same op
// on extract_slices of its operands, with the slice of its destination as
// `outs`, so upstream's scf tiling and producer fusion work on it as on a
// linalg op. Axes that an op reduces or compares across (the keys of
// attention, the tokens of pool and soft_assign, every axis of kmeans but
// the batch) stay whole in every tile.
//
// Two of those axes are reductions that can be split: the tokens of pool
// and the keys of a single-scale attention. They are the last dim of the
// op's iteration domain, of iterator type `reduction`; full-reduction
// tiling leaves them whole, and PartialReductionOpInterface splits them
// (scf::tileReductionUsingScf, transform.structured.tile_reduction_using_for):
// each tile reduces its chunk into f32 partial results, merged after the
// loop. A clus op never reads its destination, so a tile cannot accumulate
// into it the way a linalg op does: the partials are separate tensors.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Dialect/Clus/ClusOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;
using namespace clusopt::clus;

namespace {

/// Axes of an operand that a tile keeps whole.
constexpr int kWhole = -1;

/// How an op's tile reads its operands: the parallel dims of the iteration
/// domain (each sized by an operand axis) and, for every operand including
/// the destinations, the domain dim each axis follows (or kWhole).
struct TileMap {
  SmallVector<std::pair<unsigned, unsigned>> domain; // (operand, axis)
  SmallVector<SmallVector<int>> operands;
  /// The last `numReduced` dims of the domain are reductions.
  unsigned numReduced = 0;
};

/// The same map for every operand of `value`'s rank: axis i follows dims[i].
SmallVector<int> axes(std::initializer_list<int> dims) { return dims; }

TileMap tileMapOf(Operation *op) {
  TileMap map;
  auto add = [&](SmallVector<int> axesOf) {
    map.operands.push_back(std::move(axesOf));
  };
  if (auto sa = dyn_cast<SoftAssignOp>(op)) {
    // The softmax runs along `axis`; the other two dims are parallel.
    bool tokens = sa.getAxis() == SoftAssignAxis::tokens;
    map.domain = {{0, 0}, {0, tokens ? 1u : 2u}};
    SmallVector<int> a = tokens ? axes({0, 1, kWhole}) : axes({0, kWhole, 1});
    add(a); // logits
    add(a); // z_init
  } else if (isa<PoolOp>(op)) {
    map.domain = {{0, 0}, {0, 1}, {1, 2}, {0, 2}}; // B, M, C; N reduced
    map.numReduced = 1;
    add({0, 1, 3}); // z
    add({0, 3, 2}); // x
    add({0, 1, 2}); // y_init
  } else if (auto km = dyn_cast<KMeansOp>(op)) {
    map.domain = {{0, 0}}; // B
    add({0, kWhole, kWhole});
    if (km.getInit())
      add({0, kWhole, kWhole});
    add({0, kWhole});
    add({0, kWhole, kWhole});
  } else if (isa<DpcKnnOp>(op)) {
    map.domain = {{0, 0}}; // B
    add({0, kWhole, kWhole});
    add({0, kWhole, kWhole});
    add({0, kWhole, kWhole});
  } else if (auto agg = dyn_cast<AggregateOp>(op)) {
    map.domain = {{0, 0}, {0, 2}}; // B, C
    add({0, kWhole, 1});           // x
    add({0, kWhole});              // assign
    if (agg.getWeights())
      add({0, kWhole});
    add({0, kWhole, 1}); // y_init
  } else if (isa<BroadcastOp>(op)) {
    map.domain = {{0, 0}, {1, 1}, {0, 2}}; // B, N, C
    add({0, kWhole, 2});                   // y
    add({0, 1});                           // assign
    add({0, 1, 2});                        // x_init
  } else if (auto att = dyn_cast<AttentionOp>(op)) {
    map.domain = {{0, 0}, {0, 1}, {0, 2}}; // B, H, N (queries)
    add({0, 1, 2, kWhole});                // q
    if (att.getKeys().size() == 1) {
      // One softmax over the keys: a reduction that can be split.
      map.domain.push_back({1, 2}); // M (keys)
      map.numReduced = 1;
      add({0, 1, 3, kWhole}); // key
      add({0, 1, 3, kWhole}); // value
    } else {
      // One softmax per scale, each over its own keys: kept whole.
      for (size_t i = 0, e = att.getKeys().size() * 2; i < e; ++i)
        add({0, 1, kWhole, kWhole}); // keys, then values
    }
    add({0, 1, 2, kWhole}); // o_init
  } else if (auto topk = dyn_cast<TopKMembersOp>(op)) {
    // Top-K ranks each cluster's column on its own; SA-Top-K first sends
    // every token to its best cluster, which needs all of them.
    if (topk.getExclusive()) {
      map.domain = {{0, 0}};
      add({0, kWhole, kWhole});
      add({0, kWhole, kWhole});
    } else {
      map.domain = {{0, 0}, {0, 2}}; // B, M
      add({0, kWhole, 1});
      add({0, 1, kWhole});
    }
  } else if (isa<ClusterAttentionOp>(op)) {
    map.domain = {{0, 0}, {0, 1}}; // B, H
    SmallVector<int> perHead = axes({0, 1, kWhole, kWhole});
    add(perHead);             // q
    add(perHead);             // k
    add(perHead);             // v
    add({0, kWhole, kWhole}); // members: shared by the heads
    add(perHead);             // aq
    add(perHead);             // ak
    add(perHead);             // o_init
  }
  assert(map.operands.size() == op->getNumOperands() &&
         "a tile map lists every operand");
  return map;
}

/// The slice of `value` that a tile at (offsets, sizes) of the domain reads.
Value sliceOperand(OpBuilder &b, Location loc, Value value,
                   ArrayRef<int> axisDims, ArrayRef<OpFoldResult> offsets,
                   ArrayRef<OpFoldResult> sizes,
                   SmallVectorImpl<Operation *> &slices) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<OpFoldResult> sliceOffsets, sliceSizes;
  for (auto [axis, dim] : llvm::enumerate(axisDims)) {
    if (dim == kWhole) {
      sliceOffsets.push_back(b.getIndexAttr(0));
      sliceSizes.push_back(tensor::getMixedSize(b, loc, value, axis));
    } else {
      sliceOffsets.push_back(offsets[dim]);
      sliceSizes.push_back(sizes[dim]);
    }
  }
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  auto slice = tensor::ExtractSliceOp::create(b, loc, value, sliceOffsets,
                                              sliceSizes, strides);
  slices.push_back(slice);
  return slice;
}

/// The size of `value` along `axis`, a tensor's or a memref's.
OpFoldResult mixedSize(OpBuilder &b, Location loc, Value value, unsigned axis) {
  if (isa<MemRefType>(value.getType()))
    return memref::getMixedSize(b, loc, value, axis);
  return tensor::getMixedSize(b, loc, value, axis);
}

/// Whether a tile at (offset, size) covers the whole of `value`'s `axis`:
/// a static size, or the dynamic size that getIterationDomain gives.
bool coversAxis(OpFoldResult offset, OpFoldResult size, Value value,
                unsigned axis) {
  if (!isZeroInteger(offset))
    return false;
  auto type = cast<ShapedType>(value.getType());
  if (!type.isDynamicDim(axis))
    return getConstantIntValue(size) == type.getDimSize(axis);
  auto sizeValue = dyn_cast<Value>(size);
  auto dim = sizeValue ? sizeValue.getDefiningOp<tensor::DimOp>() : nullptr;
  return dim && dim.getSource() == value &&
         getConstantIntValue(dim.getIndex()) == static_cast<int64_t>(axis);
}

template <typename OpTy>
struct ClusTilingModel
    : public TilingInterface::ExternalModel<ClusTilingModel<OpTy>, OpTy> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    TileMap map = tileMapOf(op);
    SmallVector<utils::IteratorType> types(map.domain.size(),
                                           utils::IteratorType::parallel);
    for (unsigned i = map.domain.size() - map.numReduced; i < map.domain.size();
         ++i)
      types[i] = utils::IteratorType::reduction;
    return types;
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(op);
    SmallVector<Range> domain;
    for (auto [operand, axis] : tileMapOf(op).domain)
      domain.push_back(
          Range{b.getIndexAttr(0),
                mixedSize(b, op->getLoc(), op->getOperand(operand), axis),
                b.getIndexAttr(1)});
    return domain;
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    // The buffer form is what bufferization leaves: tile before it.
    if (!cast<DestinationStyleOpInterface>(op).hasPureTensorSemantics())
      return failure();
    TileMap map = tileMapOf(op);
    Location loc = op->getLoc();
    // A tile writes its whole result: one that reduced a part of an axis
    // would overwrite the rest. Splitting a reduction is the partial
    // reduction's (PartialReductionOpInterface).
    for (unsigned dim = map.domain.size() - map.numReduced;
         dim < map.domain.size(); ++dim) {
      auto [operand, axis] = map.domain[dim];
      if (!coversAxis(offsets[dim], sizes[dim], op->getOperand(operand), axis))
        return op->emitOpError("cannot tile its reduction dim #")
               << dim
               << " with full-reduction tiling (a tile writes its whole "
                  "result); split it with a partial reduction "
                  "(transform.structured.tile_reduction_using_for)";
    }
    SmallVector<Operation *> slices;
    SmallVector<Value> operands;
    for (auto [value, axisDims] :
         llvm::zip_equal(op->getOperands(), map.operands))
      operands.push_back(
          sliceOperand(b, loc, value, axisDims, offsets, sizes, slices));
    auto dps = cast<DestinationStyleOpInterface>(op);
    SmallVector<Type> resultTypes;
    for (OpOperand &init : dps.getDpsInitsMutable())
      resultTypes.push_back(operands[init.getOperandNumber()].getType());
    Operation *tiled = mlir::clone(b, op, resultTypes, operands);
    return TilingResult{
        {tiled}, SmallVector<Value>(tiled->getResults()), slices};
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    TileMap map = tileMapOf(op);
    auto dps = cast<DestinationStyleOpInterface>(op);
    OpOperand *init = dps.getDpsInitOperand(resultNumber);
    for (auto [axis, dim] :
         llvm::enumerate(map.operands[init->getOperandNumber()])) {
      if (dim == kWhole) {
        resultOffsets.push_back(b.getIndexAttr(0));
        resultSizes.push_back(
            tensor::getMixedSize(b, op->getLoc(), init->get(), axis));
      } else {
        resultOffsets.push_back(offsets[dim]);
        resultSizes.push_back(sizes[dim]);
      }
    }
    return success();
  }

  /// The domain tile that computes a tile of result `resultNumber`. A tile
  /// that cuts an axis the op keeps whole cannot be computed on its own: the
  /// failure is silent, as fusion drivers then keep the op whole.
  LogicalResult getIterationDomainTileFromResultTile(
      Operation *op, OpBuilder &b, unsigned resultNumber,
      ArrayRef<OpFoldResult> resultOffsets, ArrayRef<OpFoldResult> resultSizes,
      SmallVectorImpl<OpFoldResult> &offsets,
      SmallVectorImpl<OpFoldResult> &sizes) const {
    TileMap map = tileMapOf(op);
    SmallVector<Range> domain = getIterationDomain(op, b);
    for (const Range &range : domain) {
      offsets.push_back(range.offset);
      sizes.push_back(range.size);
    }
    auto dps = cast<DestinationStyleOpInterface>(op);
    OpOperand *init = dps.getDpsInitOperand(resultNumber);
    for (auto [axis, dim] :
         llvm::enumerate(map.operands[init->getOperandNumber()])) {
      if (dim != kWhole) {
        offsets[dim] = resultOffsets[axis];
        sizes[dim] = resultSizes[axis];
        continue;
      }
      std::optional<int64_t> offset = getConstantIntValue(resultOffsets[axis]);
      std::optional<int64_t> size = getConstantIntValue(resultSizes[axis]);
      auto type = cast<RankedTensorType>(init->get().getType());
      if (!offset || *offset != 0 || !size || type.isDynamicDim(axis) ||
          *size != type.getDimSize(axis))
        return failure();
    }
    return success();
  }

  FailureOr<TilingResult>
  generateResultTileValue(Operation *op, OpBuilder &b, unsigned resultNumber,
                          ArrayRef<OpFoldResult> resultOffsets,
                          ArrayRef<OpFoldResult> resultSizes) const {
    SmallVector<OpFoldResult> offsets, sizes;
    if (failed(getIterationDomainTileFromResultTile(
            op, b, resultNumber, resultOffsets, resultSizes, offsets, sizes)))
      return failure();
    return getTiledImplementation(op, b, offsets, sizes);
  }
};

//===----------------------------------------------------------------------===//
// Partial reductions
//===----------------------------------------------------------------------===//

/// A linalg.generic over `numLoops` loops, each operand indexed by the loops
/// listed for it, the loops in `reduced` being reductions; `body` maps the
/// block arguments (inputs, then the output) to the value yielded.
Value buildGeneric(OpBuilder &b, Location loc, unsigned numLoops,
                   ArrayRef<std::pair<Value, SmallVector<unsigned>>> inputs,
                   Value init, ArrayRef<unsigned> initLoops,
                   ArrayRef<unsigned> reduced,
                   function_ref<Value(OpBuilder &, Location, ValueRange)> body,
                   SmallVectorImpl<Operation *> &ops) {
  MLIRContext *context = b.getContext();
  auto mapOf = [&](ArrayRef<unsigned> loops) {
    SmallVector<AffineExpr> exprs;
    for (unsigned loop : loops)
      exprs.push_back(getAffineDimExpr(loop, context));
    return AffineMap::get(numLoops, 0, exprs, context);
  };
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  for (const auto &[value, loops] : inputs) {
    ins.push_back(value);
    maps.push_back(mapOf(loops));
  }
  maps.push_back(mapOf(initLoops));
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  for (unsigned loop : reduced)
    iterators[loop] = utils::IteratorType::reduction;
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), ins, init, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc,
                                body(nested, nestedLoc, args));
      });
  ops.push_back(generic);
  return generic.getResult(0);
}

Value toF32(OpBuilder &b, Location loc, Value value) {
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
}

Value fromF32(OpBuilder &b, Location loc, Value value, Type type) {
  if (type.isF32())
    return value;
  return arith::TruncFOp::create(b, loc, type, value);
}

/// A tensor of `sizes` f32, filled with `value`.
Value filledF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                double value, SmallVectorImpl<Operation *> *ops = nullptr) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  Value constant = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  auto fill = linalg::FillOp::create(b, loc, constant, empty);
  if (ops)
    ops->push_back(fill);
  return fill.getResult(0);
}

Value emptyF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
}

Value slice(OpBuilder &b, Location loc, Value value,
            ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
            SmallVectorImpl<Operation *> &slices) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  auto op =
      tensor::ExtractSliceOp::create(b, loc, value, offsets, sizes, strides);
  slices.push_back(op);
  return op;
}

/// The reduction a partial reduction may split: the op's reduction dim,
/// the last of its domain, alone.
LogicalResult checkSplit(Operation *op,
                         const SetVector<unsigned> &reductionDims) {
  TileMap map = tileMapOf(op);
  if (map.numReduced != 1)
    return op->emitOpError("has no reduction that can be split")
           << (isa<AttentionOp>(op)
                   ? ": each of its key/value scales has its own softmax"
                   : "");
  unsigned reduced = map.domain.size() - 1;
  if (reductionDims.size() != 1 || reductionDims.front() != reduced)
    return op->emitOpError("can split only its reduction dim #") << reduced;
  return success();
}

/// The strategy a split supports: the outer reduction (a loop over chunks
/// carrying the partial results, tile_reduction_using_for). `op` is the
/// driver's clone, whose destinations are the partials: its ODS accessors
/// do not apply, and checkSplit has checked the original.
LogicalResult checkStrategy(Operation *op, ReductionTilingStrategy strategy) {
  if (strategy == ReductionTilingStrategy::PartialReductionOuterReduction)
    return success();
  return op->emitOpError(
      "splits its reduction only with the outer-reduction strategy (a loop "
      "over chunks, tile_reduction_using_for)");
}

/// pool's tokens split: each chunk of tokens is pooled (a clus.pool of the
/// chunk, in f32) and added to an f32 partial of the result's shape; the
/// merge rounds the partial to the result's element type, into the op's
/// destination.
struct PoolPartialReductionModel
    : public PartialReductionOpInterface::ExternalModel<
          PoolPartialReductionModel, PoolOp> {
  FailureOr<SmallVector<Value>> generateInitialTensorForPartialReduction(
      Operation *op, OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
      const SetVector<unsigned> &reductionDims) const {
    if (failed(checkSplit(op, reductionDims)))
      return failure();
    return SmallVector<Value>{filledF32(b, loc, sizes.take_front(3), 0.0)};
  }

  FailureOr<TilingResult> tileToPartialReduction(
      Operation *op, OpBuilder &b, Location loc,
      ReductionTilingStrategy strategy, ValueRange init,
      ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
      const SetVector<unsigned> &reductionDims, ArrayRef<OpFoldResult>) const {
    if (failed(checkStrategy(op, strategy)))
      return failure();
    // The driver has replaced the destination by the partial: the inputs
    // are the op's first operands.
    Value z = op->getOperand(0), x = op->getOperand(1);
    SmallVector<Operation *> slices, ops;
    Value zt = slice(b, loc, z, {offsets[0], offsets[1], offsets[3]},
                     {sizes[0], sizes[1], sizes[3]}, slices);
    Value xt = slice(b, loc, x, {offsets[0], offsets[3], offsets[2]},
                     {sizes[0], sizes[3], sizes[2]}, slices);
    Value acc = slice(b, loc, init[0], offsets.take_front(3),
                      sizes.take_front(3), slices);
    // Accumulate in f32: an f16/bf16 chunk is widened first.
    if (!cast<ShapedType>(z.getType()).getElementType().isF32()) {
      auto widen = [&](Value value) {
        SmallVector<OpFoldResult> shape = tensor::getMixedSizes(b, loc, value);
        return buildGeneric(
            b, loc, 3, {{value, {0, 1, 2}}}, emptyF32(b, loc, shape), {0, 1, 2},
            {},
            [](OpBuilder &nb, Location l, ValueRange args) {
              return toF32(nb, l, args[0]);
            },
            ops);
      };
      zt = widen(zt);
      xt = widen(xt);
    }
    Value chunkInit = emptyF32(b, loc, sizes.take_front(3));
    auto pool = PoolOp::create(b, loc, chunkInit.getType(), zt, xt, chunkInit);
    ops.push_back(pool);
    Value sum = buildGeneric(
        b, loc, 3, {{pool->getResult(0), {0, 1, 2}}}, acc, {0, 1, 2}, {},
        [](OpBuilder &nb, Location l, ValueRange args) -> Value {
          return arith::AddFOp::create(nb, l, args[1], args[0]);
        },
        ops);
    // The tiled op is the chunk's pool (what a later transform tiles or
    // vectorises); the widening and the addition are its companions.
    // transform.structured.tile_reduction_using_for hands out one tiled op.
    return TilingResult{{pool}, {sum}, slices};
  }

  FailureOr<MergeResult>
  mergeReductions(Operation *op, OpBuilder &b, Location loc,
                  ValueRange partialReduce,
                  const SetVector<unsigned> &reductionDims) const {
    auto pool = cast<PoolOp>(op);
    Type elementType = pool.getYInit().getType().getElementType();
    SmallVector<Operation *> ops;
    Value y = buildGeneric(
        b, loc, 3, {{partialReduce[0], {0, 1, 2}}}, pool.getYInit(), {0, 1, 2},
        {},
        [&](OpBuilder &nb, Location l, ValueRange args) {
          return fromF32(nb, l, args[0], elementType);
        },
        ops);
    return MergeResult{ops, {y}};
  }

  LogicalResult getPartialResultTilePosition(
      Operation *, OpBuilder &, unsigned, ReductionTilingStrategy,
      ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
      const SetVector<unsigned> &, ArrayRef<OpFoldResult>,
      SmallVector<OpFoldResult> &resultOffsets,
      SmallVector<OpFoldResult> &resultSizes) const {
    resultOffsets.assign(offsets.begin(), offsets.begin() + 3);
    resultSizes.assign(sizes.begin(), sizes.begin() + 3);
    return success();
  }
};

/// Single-scale attention's keys split, flash-decoding style: a softmax
/// over all keys is not a sum of softmaxes over chunks, so the partials
/// are the running maximum `m` of the scaled scores, the running sum
/// `l = Σ exp(s − m)` and the unnormalised output `acc = Σ exp(s − m)·V`,
/// all f32. A chunk raises `m` to `m'`, rescales `l` and `acc` by
/// `exp(m − m')` and adds its own terms; the merge is `O = acc / l`, into
/// the op's destination. The chunk is computed with linalg.generic ops:
/// no clus op has the running statistics as operands and results.
struct AttentionPartialReductionModel
    : public PartialReductionOpInterface::ExternalModel<
          AttentionPartialReductionModel, AttentionOp> {
  FailureOr<SmallVector<Value>> generateInitialTensorForPartialReduction(
      Operation *op, OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
      const SetVector<unsigned> &reductionDims) const {
    if (failed(checkSplit(op, reductionDims)))
      return failure();
    auto attention = cast<AttentionOp>(op);
    SmallVector<OpFoldResult> accSizes(sizes.take_front(3));
    accSizes.push_back(tensor::getMixedSize(b, loc, attention.getOInit(), 3));
    SmallVector<Value> partials;
    partials.push_back(filledF32(b, loc, accSizes, 0.0));
    partials.push_back(filledF32(b, loc, sizes.take_front(3),
                                 -std::numeric_limits<double>::infinity()));
    partials.push_back(filledF32(b, loc, sizes.take_front(3), 0.0));
    return partials;
  }

  FailureOr<TilingResult> tileToPartialReduction(
      Operation *op, OpBuilder &b, Location loc,
      ReductionTilingStrategy strategy, ValueRange init,
      ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
      const SetVector<unsigned> &reductionDims, ArrayRef<OpFoldResult>) const {
    if (failed(checkStrategy(op, strategy)))
      return failure();
    // The driver has replaced the destination by the partials: the query,
    // key and value are the op's first operands.
    Value q = op->getOperand(0), k = op->getOperand(1), v = op->getOperand(2);
    auto scaleAttr = op->getAttrOfType<FloatAttr>("scale");
    OpFoldResult zero = b.getIndexAttr(0);
    OpFoldResult d = tensor::getMixedSize(b, loc, q, 3);
    OpFoldResult dv = tensor::getMixedSize(b, loc, v, 3);
    SmallVector<Operation *> slices, ops;
    Value qt = slice(b, loc, q, {offsets[0], offsets[1], offsets[2], zero},
                     {sizes[0], sizes[1], sizes[2], d}, slices);
    Value kt = slice(b, loc, k, {offsets[0], offsets[1], offsets[3], zero},
                     {sizes[0], sizes[1], sizes[3], d}, slices);
    Value vt = slice(b, loc, v, {offsets[0], offsets[1], offsets[3], zero},
                     {sizes[0], sizes[1], sizes[3], dv}, slices);
    SmallVector<OpFoldResult> rowOffsets(offsets.take_front(3));
    SmallVector<OpFoldResult> rowSizes(sizes.take_front(3));
    SmallVector<OpFoldResult> accOffsets(rowOffsets), accSizes(rowSizes);
    accOffsets.push_back(zero);
    accSizes.push_back(dv);
    Value acc = slice(b, loc, init[0], accOffsets, accSizes, slices);
    Value max = slice(b, loc, init[1], rowOffsets, rowSizes, slices);
    Value sum = slice(b, loc, init[2], rowOffsets, rowSizes, slices);

    // The scale: the attribute, or 1/sqrt(D) with D read at run time.
    Value scale;
    if (scaleAttr) {
      scale = arith::ConstantOp::create(b, loc, scaleAttr);
    } else {
      Value dIndex = getValueOrCreateConstantIndexOp(b, loc, d);
      Value dInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), dIndex);
      Value dFloat = arith::SIToFPOp::create(b, loc, b.getF32Type(), dInt);
      Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
      scale = arith::DivFOp::create(b, loc, one,
                                    math::SqrtOp::create(b, loc, dFloat));
    }

    // Loops (b, h, n, m, d): the chunk's scaled scores s = scale·Q·Kᵀ.
    SmallVector<OpFoldResult> scoreSizes(rowSizes);
    scoreSizes.push_back(sizes[3]);
    Value dots = buildGeneric(
        b, loc, 5, {{qt, {0, 1, 2, 4}}, {kt, {0, 1, 3, 4}}},
        filledF32(b, loc, scoreSizes, 0.0, &ops), {0, 1, 2, 3}, {4},
        [](OpBuilder &nb, Location l, ValueRange args) -> Value {
          Value product = arith::MulFOp::create(nb, l, toF32(nb, l, args[0]),
                                                toF32(nb, l, args[1]));
          return arith::AddFOp::create(nb, l, args[2], product);
        },
        ops);
    Value scores = buildGeneric(
        b, loc, 4, {{dots, {0, 1, 2, 3}}}, emptyF32(b, loc, scoreSizes),
        {0, 1, 2, 3}, {},
        [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
          return arith::MulFOp::create(nb, l, scale, args[0]);
        },
        ops);
    // m' = max(m, max_m s).
    Value newMax = buildGeneric(
        b, loc, 4, {{scores, {0, 1, 2, 3}}}, max, {0, 1, 2}, {3},
        [](OpBuilder &nb, Location l, ValueRange args) -> Value {
          return arith::MaximumFOp::create(nb, l, args[1], args[0]);
        },
        ops);
    // p = exp(s − m'), and the rescaling of the old partials exp(m − m').
    auto expOfDifference = [](OpBuilder &nb, Location l,
                              ValueRange args) -> Value {
      return math::ExpOp::create(
          nb, l, arith::SubFOp::create(nb, l, args[0], args[1]));
    };
    Value p = buildGeneric(
        b, loc, 4, {{scores, {0, 1, 2, 3}}, {newMax, {0, 1, 2}}},
        emptyF32(b, loc, scoreSizes), {0, 1, 2, 3}, {}, expOfDifference, ops);
    Value rescale = buildGeneric(
        b, loc, 3, {{max, {0, 1, 2}}, {newMax, {0, 1, 2}}},
        emptyF32(b, loc, rowSizes), {0, 1, 2}, {}, expOfDifference, ops);
    auto multiply = [](OpBuilder &nb, Location l, ValueRange args) -> Value {
      return arith::MulFOp::create(nb, l, args[0], args[1]);
    };
    // l' = l·exp(m − m') + Σ_m p.
    Value sumRescaled =
        buildGeneric(b, loc, 3, {{sum, {0, 1, 2}}, {rescale, {0, 1, 2}}},
                     emptyF32(b, loc, rowSizes), {0, 1, 2}, {}, multiply, ops);
    Value newSum = buildGeneric(
        b, loc, 4, {{p, {0, 1, 2, 3}}}, sumRescaled, {0, 1, 2}, {3},
        [](OpBuilder &nb, Location l, ValueRange args) -> Value {
          return arith::AddFOp::create(nb, l, args[1], args[0]);
        },
        ops);
    // acc' = acc·exp(m − m') + p·V, loops (b, h, n, e, m).
    Value accRescaled = buildGeneric(
        b, loc, 4, {{acc, {0, 1, 2, 3}}, {rescale, {0, 1, 2}}},
        emptyF32(b, loc, accSizes), {0, 1, 2, 3}, {}, multiply, ops);
    Value newAcc = buildGeneric(
        b, loc, 5, {{p, {0, 1, 2, 4}}, {vt, {0, 1, 4, 3}}}, accRescaled,
        {0, 1, 2, 3}, {4},
        [](OpBuilder &nb, Location l, ValueRange args) -> Value {
          Value product =
              arith::MulFOp::create(nb, l, args[0], toF32(nb, l, args[1]));
          return arith::AddFOp::create(nb, l, args[2], product);
        },
        ops);
    // The tiled op is the one that yields the accumulator: the others
    // produce its operands (transform.structured.tile_reduction_using_for
    // hands out one tiled op).
    return TilingResult{
        {newAcc.getDefiningOp()}, {newAcc, newMax, newSum}, slices};
  }

  FailureOr<MergeResult>
  mergeReductions(Operation *op, OpBuilder &b, Location loc,
                  ValueRange partialReduce,
                  const SetVector<unsigned> &reductionDims) const {
    auto attention = cast<AttentionOp>(op);
    Type elementType = attention.getOInit().getType().getElementType();
    SmallVector<Operation *> ops;
    Value o = buildGeneric(
        b, loc, 4,
        {{partialReduce[0], {0, 1, 2, 3}}, {partialReduce[2], {0, 1, 2}}},
        attention.getOInit(), {0, 1, 2, 3}, {},
        [&](OpBuilder &nb, Location l, ValueRange args) {
          return fromF32(nb, l, arith::DivFOp::create(nb, l, args[0], args[1]),
                         elementType);
        },
        ops);
    return MergeResult{ops, {o}};
  }

  LogicalResult getPartialResultTilePosition(
      Operation *op, OpBuilder &b, unsigned resultNumber,
      ReductionTilingStrategy, ArrayRef<OpFoldResult> offsets,
      ArrayRef<OpFoldResult> sizes, const SetVector<unsigned> &,
      ArrayRef<OpFoldResult>, SmallVector<OpFoldResult> &resultOffsets,
      SmallVector<OpFoldResult> &resultSizes) const {
    resultOffsets.assign(offsets.begin(), offsets.begin() + 3);
    resultSizes.assign(sizes.begin(), sizes.begin() + 3);
    if (resultNumber == 0) { // acc: one row of Dv per query
      resultOffsets.push_back(b.getIndexAttr(0));
      resultSizes.push_back(tensor::getMixedSize(
          b, op->getLoc(), cast<AttentionOp>(op).getOInit(), 3));
    }
    return success();
  }
};

template <typename... OpTys> void attachTo(MLIRContext *context) {
  (OpTys::template attachInterface<ClusTilingModel<OpTys>>(*context), ...);
}

} // namespace

namespace clusopt::clus {
/// Attaches TilingInterface to every clus op; the dialect calls it when it
/// is loaded.
void registerTilingInterfaceModels(MLIRContext *context) {
  attachTo<SoftAssignOp, PoolOp, KMeansOp, DpcKnnOp, AggregateOp, BroadcastOp,
           AttentionOp, TopKMembersOp, ClusterAttentionOp>(context);
}

/// Attaches PartialReductionOpInterface to the ops with a reduction that can
/// be split: pool (tokens) and attention (keys, single scale).
void registerPartialReductionModels(MLIRContext *context) {
  PoolOp::attachInterface<PoolPartialReductionModel>(*context);
  AttentionOp::attachInterface<AttentionPartialReductionModel>(*context);
}
} // namespace clusopt::clus

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
//===----------------------------------------------------------------------===//

#include "clusopt/Dialect/Clus/ClusOps.h"

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
    map.domain = {{0, 0}, {0, 1}, {1, 2}}; // B, M, C
    add({0, 1, kWhole});                   // z
    add({0, kWhole, 2});                   // x
    add({0, 1, 2});                        // y_init
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
    for (size_t i = 0, e = att.getKeys().size() * 2; i < e; ++i)
      add({0, 1, kWhole, kWhole}); // keys, then values
    add({0, 1, 2, kWhole});        // o_init
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

template <typename OpTy>
struct ClusTilingModel
    : public TilingInterface::ExternalModel<ClusTilingModel<OpTy>, OpTy> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    return SmallVector<utils::IteratorType>(tileMapOf(op).domain.size(),
                                            utils::IteratorType::parallel);
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(op);
    SmallVector<Range> domain;
    for (auto [operand, axis] : tileMapOf(op).domain)
      domain.push_back(Range{
          b.getIndexAttr(0),
          tensor::getMixedSize(b, op->getLoc(), op->getOperand(operand), axis),
          b.getIndexAttr(1)});
    return domain;
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    TileMap map = tileMapOf(op);
    Location loc = op->getLoc();
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
} // namespace clusopt::clus

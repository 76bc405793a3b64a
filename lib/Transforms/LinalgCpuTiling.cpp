//===- LinalgCpuTiling.cpp - vector code for the linalg around clus ops ---===//
//
// Tiles elementwise, reduction and (non-1x1) convolution linalg ops into an
// scf.forall over rows with their producers fused, tiles each op of a row
// block to one vector, and vectorises it, all with upstream's TilingInterface
// utilities and linalg::vectorize. What it cannot do is left for the
// pipeline's scalar loops, with a remark.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Transforms/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace clusopt {
#define GEN_PASS_DEF_LINALGCPUTILING
#include "clusopt/Transforms/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {

enum class OpKind { Elementwise, Reduction, Convolution };

/// Elements a row-block tile aims at: a few tens of KiB of f32, so that the
/// intermediates of a fused chain stay in L2 and there are enough tiles for
/// the threads.
constexpr int64_t kTileElements = 8192;
constexpr int64_t kMaxTileRows = 64;
/// Stands in for a dynamic size when choosing tile sizes.
constexpr int64_t kAssumedDynamicSize = 128;

/// A GEMM that clus-linalg-to-ukernel turns into a micro-kernel call.
bool isUKernelGemm(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp)
    return false;
  if (auto conv = dyn_cast<linalg::Conv2DNhwcHwcfOp>(op)) {
    auto filter = dyn_cast<ShapedType>(conv.getInputs()[1].getType());
    return filter && filter.getRank() == 4 && filter.getDimSize(0) == 1 &&
           filter.getDimSize(1) == 1;
  }
  return linalg::isaContractionOpInterface(linalgOp);
}

/// Ops clus-linalg-to-ukernel folds into its GEMM call, so tiling them here
/// would cost a pass over the GEMM's output: the fill of a GEMM's
/// accumulator, and an elementwise op that reads a GEMM's result (its bias,
/// GELU or residual epilogue).
bool isLeftForUKernel(linalg::LinalgOp op) {
  if (isa<linalg::FillOp>(op.getOperation()))
    return llvm::any_of(op->getUsers(), isUKernelGemm);
  if (op.getNumReductionLoops() != 0)
    return false;
  return llvm::any_of(op.getDpsInputs(), [](Value input) {
    return input.getDefiningOp() && isUKernelGemm(input.getDefiningOp());
  });
}

/// The kind of `op` for this pass, or failure with why it is left to loops.
FailureOr<OpKind> classify(linalg::LinalgOp op, std::string &why) {
  if (!op.hasPureTensorSemantics()) {
    why = "it works on buffers, not tensors";
    return failure();
  }
  if (isa<linalg::DepthwiseConv2DNhwcHwcOp>(op))
    return OpKind::Convolution;
  if (auto conv = dyn_cast<linalg::Conv2DNhwcHwcfOp>(op.getOperation())) {
    auto filter = cast<ShapedType>(conv.getDpsInputs()[1].getType());
    if (filter.getDimSize(0) == 1 && filter.getDimSize(1) == 1) {
      why = "a 1x1 convolution is a matrix product (the GEMM path's)";
      return failure();
    }
    return OpKind::Convolution;
  }
  if (linalg::isaContractionOpInterface(op)) {
    why = "it is a contraction (the GEMM path's)";
    return failure();
  }
  if (linalg::isaConvolutionOpInterface(op)) {
    why = "only depthwise_conv_2d_nhwc_hwc and conv_2d_nhwc_hwcf "
          "convolutions are vectorised";
    return failure();
  }
  if (op.getNumLoops() == 0) {
    why = "it has no loops";
    return failure();
  }
  if (!op.hasOnlyProjectedPermutations()) {
    why = "an indexing map is not a projected permutation";
    return failure();
  }
  // Memory holds an i1 per byte, but a vector<Nxi1> load or store reads or
  // writes N packed bits (a causal mask came out wrong).
  if (llvm::any_of(op->getOperandTypes(), [](Type type) {
        return getElementTypeOrSelf(type).isInteger(1);
      })) {
    why = "it reads or writes i1 tensors, which vector loads would bit-pack";
    return failure();
  }
  if (op.getNumReductionLoops() == 0)
    return OpKind::Elementwise;
  if (op.getNumDpsInits() != 1) {
    why = "it is a reduction with several results";
    return failure();
  }
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (linalg::isReductionIterator(iterators.back())) {
    // Split into vector-width partial results: needs one combiner with a
    // neutral element.
    SmallVector<Operation *> combiners;
    if (op.getNumReductionLoops() != 1) {
      why = "it reduces over several dimensions, the innermost among them";
      return failure();
    }
    if (!matchReduction(op.getRegionOutputArgs(), 0, combiners) ||
        combiners.size() != 1 || !arith::getNeutralElement(combiners[0])) {
      why = "its reduction combiner has no neutral element upstream knows";
      return failure();
    }
  }
  return OpKind::Reduction;
}

/// Static size of each loop of `op`, kAssumedDynamicSize where dynamic.
SmallVector<int64_t> assumedLoopSizes(linalg::LinalgOp op) {
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  for (int64_t &size : sizes)
    if (ShapedType::isDynamic(size))
      size = kAssumedDynamicSize;
  return sizes;
}

/// Output columns per vectorised convolution tile: the largest of 8..1
/// that divides a static width, so every tile has the same static shape.
int64_t convColumns(int64_t width) {
  if (ShapedType::isDynamic(width))
    return 1;
  for (int64_t columns = 8; columns > 1; --columns)
    if (width % columns == 0)
      return columns;
  return 1;
}

/// Channels per vectorised convolution tile: the vector width, or where a
/// static channel count is no multiple of it, the largest divisor below it
/// (masked n-D convolution vectors do not lower).
int64_t convChannels(int64_t channels, int64_t width) {
  if (ShapedType::isDynamic(channels) || channels % width == 0)
    return width;
  for (int64_t lanes = width - 1; lanes > 1; --lanes)
    if (channels % lanes == 0)
      return lanes;
  return 1;
}

/// The convolution whose result an elementwise `op` reads with an identity
/// map, and nothing else reads: `op` (a shortcut add, a GELU) can compute
/// it tile by tile, as it needs it, instead of reading it from memory.
linalg::LinalgOp fusibleConvolutionOperand(linalg::LinalgOp op, OpKind kind) {
  if (kind != OpKind::Elementwise || op.getNumLoops() != 4)
    return {};
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto conv = input->get().getDefiningOp<linalg::LinalgOp>();
    if (conv && input->get().hasOneUse() &&
        isa<linalg::DepthwiseConv2DNhwcHwcOp, linalg::Conv2DNhwcHwcfOp>(
            conv.getOperation()) &&
        op.getMatchingIndexingMap(input).isIdentity())
      return conv;
  }
  return {};
}

/// Tile sizes of the parallel row-block loop, or empty if the op has no
/// outer parallel dimension to distribute.
SmallVector<int64_t> rowBlockTileSizes(linalg::LinalgOp op, OpKind kind) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<int64_t> tiles(numLoops, 0);
  // [N, OH, ...]: one batch image and one output row per tile. An
  // elementwise consumer of a convolution tiles as the convolution does,
  // whole rows, so the convolution's tiles fused into it keep the static
  // width that its vectorisation needs.
  if (kind == OpKind::Convolution || fusibleConvolutionOperand(op, kind)) {
    tiles[0] = 1;
    tiles[1] = 1;
    return tiles;
  }
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  std::optional<unsigned> rowDim;
  for (unsigned d = 0; d + 1 < numLoops; ++d)
    if (linalg::isParallelIterator(iterators[d]))
      rowDim = d;
  if (!rowDim)
    return {};
  SmallVector<int64_t> sizes = assumedLoopSizes(op);
  int64_t rowElements = 1;
  for (unsigned d = *rowDim + 1; d < numLoops; ++d)
    rowElements *= sizes[d];
  for (unsigned d = 0; d < *rowDim; ++d)
    if (linalg::isParallelIterator(iterators[d]))
      tiles[d] = 1;
  tiles[*rowDim] =
      std::clamp<int64_t>(kTileElements / rowElements, 1, kMaxTileRows);
  return tiles;
}

/// Tile sizes that leave one vector (or one convolution row of vectors) per
/// tile, and the reduction strategy for them.
std::pair<SmallVector<int64_t>, ReductionTilingStrategy>
vectorTileSizes(linalg::LinalgOp op, OpKind kind, int64_t width) {
  unsigned numLoops = op.getNumLoops();
  if (kind == OpKind::Convolution) {
    // depthwise [N, OH, OW, C, KH, KW] or [N, OH, OW, F, KH, KW, C]: one
    // output row of a few columns and `width` channels, one filter row at a
    // time (so that it decomposes into a 1-D convolution), the rest whole.
    SmallVector<int64_t> tiles(numLoops, 0);
    tiles[0] = 1;
    tiles[1] = 1;
    tiles[2] = convColumns(op.getStaticLoopRanges()[2]);
    tiles[3] = convChannels(op.getStaticLoopRanges()[3], width);
    tiles[4] = 1;
    return {tiles, ReductionTilingStrategy::FullReduction};
  }
  SmallVector<int64_t> tiles(numLoops, 1);
  tiles.back() = width;
  bool innerReduction =
      linalg::isReductionIterator(op.getIteratorTypesArray().back());
  return {tiles, innerReduction
                     ? ReductionTilingStrategy::PartialReductionOuterReduction
                     : ReductionTilingStrategy::FullReduction};
}

SmallVector<OpFoldResult> asIndexAttrs(Builder &b, ArrayRef<int64_t> sizes) {
  return llvm::map_to_vector(sizes, [&](int64_t size) -> OpFoldResult {
    return b.getIndexAttr(size);
  });
}

/// Vector sizes for `op`: each loop's static size or constant upper bound.
/// Empty when every size is static (no masks), failure when a bound is
/// unknown.
FailureOr<SmallVector<int64_t>> vectorSizes(linalg::LinalgOp op) {
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  if (!llvm::any_of(sizes, ShapedType::isDynamic))
    return SmallVector<int64_t>{};
  for (auto [dim, size] : llvm::enumerate(sizes)) {
    if (!ShapedType::isDynamic(size))
      continue;
    Value operand;
    unsigned operandDim;
    if (failed(op.mapIterationSpaceDimToOperandDim(dim, operand, operandDim)))
      return failure();
    FailureOr<int64_t> bound = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB, {operand, static_cast<int64_t>(operandDim)},
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(bound))
      return failure();
    size = *bound;
  }
  return sizes;
}

/// Rewrites a constant-padded tensor.pad into fills of its border (one slab
/// below and one above the interior per padded dimension) and a
/// linalg.copy into its interior: all are then tiled and vectorised like
/// any elementwise op, and bufferization writes them in place (a pad
/// bufferizes to a strided memref.copy, a call into a runtime library the
/// compiled kernels do not link). The interior is written once: filling
/// the whole padded tensor first would write it twice.
void decomposePad(RewriterBase &rewriter, tensor::PadOp pad) {
  Value padding = pad.getConstantPaddingValue();
  if (!padding)
    return;
  Location loc = pad.getLoc();
  rewriter.setInsertionPoint(pad);
  ReifiedRankedShapedTypeDims shape;
  if (failed(reifyResultShapes(rewriter, pad, shape)))
    return;
  auto type = pad.getResultType();
  int64_t rank = type.getRank();
  Value result =
      tensor::EmptyOp::create(rewriter, loc, shape[0], type.getElementType());
  SmallVector<OpFoldResult> low = pad.getMixedLowPad();
  SmallVector<OpFoldResult> high = pad.getMixedHighPad();
  SmallVector<OpFoldResult> sizes =
      tensor::getMixedSizes(rewriter, loc, pad.getSource());
  SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
  AffineExpr s0, s1;
  bindSymbols(rewriter.getContext(), s0, s1);
  for (int64_t d = 0; d < rank; ++d) {
    for (bool above : {false, true}) {
      OpFoldResult extent = above ? high[d] : low[d];
      if (isConstantIntValue(extent, 0))
        continue;
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
      if (above)
        offsets[d] = affine::makeComposedFoldedAffineApply(
            rewriter, loc, s0 + s1, {low[d], sizes[d]});
      SmallVector<OpFoldResult> slabSizes(shape[0]);
      slabSizes[d] = extent;
      Value slab = tensor::ExtractSliceOp::create(rewriter, loc, result,
                                                  offsets, slabSizes, strides);
      Value filled =
          linalg::FillOp::create(rewriter, loc, padding, slab).getResult(0);
      result = tensor::InsertSliceOp::create(rewriter, loc, filled, result,
                                             offsets, slabSizes, strides);
    }
  }
  Value interior = tensor::ExtractSliceOp::create(rewriter, loc, result, low,
                                                  sizes, strides);
  Value copied =
      linalg::CopyOp::create(rewriter, loc, pad.getSource(), interior)
          .getResult(0);
  rewriter.replaceOpWithNewOp<tensor::InsertSliceOp>(pad, copied, result, low,
                                                     sizes, strides);
}

/// Fuses each elementwise linalg.generic into the elementwise generic that
/// is its only user (upstream's elementwise fusion): a bias add and the
/// residual add after it become one op, which clus-linalg-to-ukernel folds
/// into the GEMM before them as one epilogue; a shortcut add and the GELU
/// after it become one pass over memory instead of two.
LogicalResult fuseElementwiseChains(func::FuncOp func) {
  RewritePatternSet patterns(func.getContext());
  linalg::populateElementwiseOpsFusionPatterns(patterns, [](OpOperand *fused) {
    Operation *producer = fused->get().getDefiningOp();
    auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
    return producer && consumer && fused->get().hasOneUse() &&
           producer->getBlock() == consumer->getBlock() &&
           consumer.getNumReductionLoops() == 0;
  });
  GreedyRewriteConfig config;
  config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
  return applyPatternsGreedily(func, std::move(patterns), config);
}

struct LinalgCpuTilingPass
    : clusopt::impl::LinalgCpuTilingBase<LinalgCpuTilingPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// Tiles `root` into a row-block scf.forall with its producers fused and
  /// adds the loop to `loops`, or adds `root` to `unsplit` when it has no
  /// rows to distribute.
  LogicalResult tileRowBlocks(RewriterBase &rewriter, linalg::LinalgOp root,
                              OpKind kind, DenseSet<Operation *> &erased,
                              SmallVectorImpl<Operation *> &loops,
                              SmallVectorImpl<linalg::LinalgOp> &unsplit);
  /// Tiles `op` to vector-sized tiles; the new loop nest goes to `loops`.
  void tileToVectors(RewriterBase &rewriter, linalg::LinalgOp op, OpKind kind,
                     SmallVectorImpl<Operation *> &loops);
  /// Vectorises every linalg op under `loops`.
  void vectorizeTiles(RewriterBase &rewriter, ArrayRef<Operation *> loops);
};

LogicalResult LinalgCpuTilingPass::tileRowBlocks(
    RewriterBase &rewriter, linalg::LinalgOp root, OpKind kind,
    DenseSet<Operation *> &erased, SmallVectorImpl<Operation *> &loops,
    SmallVectorImpl<linalg::LinalgOp> &unsplit) {
  SmallVector<int64_t> tiles = rowBlockTileSizes(root, kind);
  if (tiles.empty()) {
    unsplit.push_back(root);
    return success();
  }
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(asIndexAttrs(rewriter, tiles))
      .setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tiling);
  // Fuse elementwise and reduction producers, a convolution's accumulator
  // fill, and the convolution an elementwise root reads (with its bias
  // broadcast), but only where the tile of the producer moves with the
  // loop: a tile at constant offsets would be recomputed, whole, in every
  // iteration.
  linalg::LinalgOp convolution = fusibleConvolutionOperand(root, kind);
  options.setFusionControlFn(
      [&](tensor::ExtractSliceOp slice, OpResult producer, bool isDestination)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        auto linalgProducer = dyn_cast<linalg::LinalgOp>(producer.getOwner());
        if (!linalgProducer)
          return std::nullopt;
        if (isLeftForUKernel(linalgProducer))
          return std::nullopt;
        std::string why;
        FailureOr<OpKind> producerKind = classify(linalgProducer, why);
        if (failed(producerKind) || (*producerKind == OpKind::Convolution &&
                                     linalgProducer != convolution))
          return std::nullopt;
        if (kind == OpKind::Convolution &&
            !(isDestination && isa<linalg::FillOp>(producer.getOwner())))
          return std::nullopt;
        if (llvm::all_of(slice.getMixedOffsets(), [](OpFoldResult offset) {
              return getConstantIntValue(offset).has_value();
            }))
          return std::nullopt;
        return scf::SCFTileAndFuseOptions::ControlFnResult{};
      });
  rewriter.setInsertionPoint(root);
  FailureOr<scf::SCFTileAndFuseResult> result =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(root.getOperation()), options);
  if (failed(result))
    return failure();
  SmallVector<Operation *> replaced{root};
  llvm::append_range(replaced, result->fusedProducers);
  for (Operation *op : replaced) {
    for (OpResult value : op->getResults())
      if (Value replacement = result->replacements.lookup(value))
        rewriter.replaceAllUsesWith(value, replacement);
    if (op->use_empty()) {
      erased.insert(op);
      rewriter.eraseOp(op);
    }
  }
  loops.push_back(result->loops.front().getOperation());
  return success();
}

void LinalgCpuTilingPass::tileToVectors(RewriterBase &rewriter,
                                        linalg::LinalgOp op, OpKind kind,
                                        SmallVectorImpl<Operation *> &loops) {
  auto [tiles, strategy] = vectorTileSizes(op, kind, vectorWidth);
  auto remark = [&] {
    op->emitRemark() << "clus-linalg-cpu-tiling: could not tile '"
                     << op->getName() << "' to vectors; it is lowered to loops";
  };
  // Upstream's partial-reduction tiling tiles only the reduction: the
  // parallel dimensions go first, in their own loops.
  SmallVector<int64_t> reductionTiles;
  if (strategy != ReductionTilingStrategy::FullReduction) {
    reductionTiles.assign(tiles.size(), 0);
    std::swap(reductionTiles.back(), tiles.back());
  }
  scf::SCFTilingOptions options;
  options.setTileSizes(asIndexAttrs(rewriter, tiles))
      .setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> result = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(result))
    return remark();
  rewriter.replaceOp(op, result->replacements);
  if (!result->loops.empty())
    loops.push_back(result->loops.front().getOperation());
  if (reductionTiles.empty())
    return;
  // One row: keep `vector-width` partial results along it.
  auto row = cast<linalg::LinalgOp>(result->tiledOps.front());
  scf::SCFTilingOptions partial;
  partial.setTileSizes(asIndexAttrs(rewriter, reductionTiles))
      .setLoopType(scf::SCFTilingOptions::LoopType::ForOp)
      .setReductionTilingStrategy(strategy)
      .setReductionDims({row.getNumLoops() - 1});
  rewriter.setInsertionPoint(row);
  FailureOr<scf::SCFTilingResult> split = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(row.getOperation()), partial);
  if (failed(split))
    return remark();
  rewriter.replaceOp(row, split->replacements);
  if (result->loops.empty()) {
    // No enclosing loop to find them through: the partial loop, the fill
    // of its accumulator and the final merge.
    llvm::append_range(loops, llvm::map_range(split->loops, [](auto loop) {
                         return loop.getOperation();
                       }));
    for (Value initial : split->initialValues)
      if (Operation *fill = initial.getDefiningOp())
        loops.push_back(fill);
    llvm::append_range(loops, split->mergeOps);
  }
}

void LinalgCpuTilingPass::vectorizeTiles(RewriterBase &rewriter,
                                         ArrayRef<Operation *> loops) {
  // One output row and one filter row: 2-D convolutions become 1-D ones,
  // which linalg::vectorize handles.
  SmallVector<Operation *> convolutions;
  for (Operation *loop : loops)
    loop->walk([&](linalg::LinalgOp op) {
      if (isa<linalg::DepthwiseConv2DNhwcHwcOp, linalg::Conv2DNhwcHwcfOp>(
              op.getOperation()))
        convolutions.push_back(op);
    });
  if (!convolutions.empty()) {
    RewritePatternSet patterns(&getContext());
    linalg::populateDecomposeConvolutionPatterns(patterns);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    (void)applyOpPatternsGreedily(convolutions, std::move(patterns), config);
  }
  SmallVector<linalg::LinalgOp> ops;
  for (Operation *loop : loops)
    loop->walk([&](linalg::LinalgOp op) { ops.push_back(op); });
  for (linalg::LinalgOp op : ops) {
    FailureOr<SmallVector<int64_t>> sizes = vectorSizes(op);
    // Masked n-D convolution vectors do not lower: only static ones.
    if (linalg::isaConvolutionOpInterface(op) && succeeded(sizes) &&
        !sizes->empty())
      sizes = failure();
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::VectorizationResult> result =
        succeeded(sizes) && !isa<linalg::DepthwiseConv2DNhwcHwcOp,
                                 linalg::Conv2DNhwcHwcfOp>(op.getOperation())
            ? linalg::vectorize(rewriter, op, *sizes,
                                SmallVector<bool>(sizes->size(), false))
            : FailureOr<linalg::VectorizationResult>(failure());
    if (failed(result)) {
      op->emitRemark() << "clus-linalg-cpu-tiling: a '" << op->getName()
                       << "' tile could not be vectorised; it is lowered to "
                          "loops";
      continue;
    }
    rewriter.replaceOp(op, result->replacements);
  }
}

void LinalgCpuTilingPass::runOnOperation() {
  func::FuncOp func = getOperation();
  if (vectorWidth < 1) {
    func.emitError("clus-linalg-cpu-tiling: vector-width must be positive");
    return signalPassFailure();
  }
  IRRewriter rewriter(&getContext());
  for (auto pad :
       llvm::make_early_inc_range(func.getBody().getOps<tensor::PadOp>()))
    decomposePad(rewriter, pad);
  if (failed(fuseElementwiseChains(func)))
    func.emitWarning("clus-linalg-cpu-tiling: elementwise fusion did not "
                     "converge");
  SmallVector<std::pair<linalg::LinalgOp, OpKind>> roots;
  for (Operation &op : func.getBody().getOps()) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(&op);
    // GEMMs are clus-linalg-to-ukernel's, which remarks on what it leaves.
    if (!linalgOp || isLeftForUKernel(linalgOp) || isUKernelGemm(&op))
      continue;
    std::string why;
    FailureOr<OpKind> kind = classify(linalgOp, why);
    if (failed(kind)) {
      op.emitRemark() << "clus-linalg-cpu-tiling: '" << op.getName()
                      << "' is lowered to scalar loops: " << why;
      continue;
    }
    roots.push_back({linalgOp, *kind});
  }
  // Consumers first, so that each fuses its producers; a producer that
  // still has other users afterwards becomes a root of its own, one that
  // has none is erased.
  DenseSet<Operation *> erased;
  SmallVector<Operation *> loops;
  SmallVector<linalg::LinalgOp> unsplit;
  for (auto [root, kind] : llvm::reverse(roots)) {
    if (erased.contains(root.getOperation()))
      continue;
    // Tiling its consumers asked for its sizes: ask its destinations.
    for (OpResult result : root->getResults())
      for (OpOperand &use : llvm::make_early_inc_range(result.getUses()))
        if (auto dim = dyn_cast<tensor::DimOp>(use.getOwner())) {
          rewriter.setInsertionPoint(dim);
          rewriter.replaceOp(
              dim, tensor::DimOp::create(
                       rewriter, dim.getLoc(),
                       root.getDpsInitOperand(result.getResultNumber())->get(),
                       dim.getIndex()));
        }
    if (root->use_empty()) { // fused into all its consumers
      erased.insert(root.getOperation());
      rewriter.eraseOp(root);
      continue;
    }
    if (failed(tileRowBlocks(rewriter, root, kind, erased, loops, unsplit)))
      root->emitRemark() << "clus-linalg-cpu-tiling: could not tile '"
                         << root->getName() << "'; it is lowered to loops";
  }
  // A producer with two consumers in a row block (softmax's exp, feeding
  // the sum and the division) was fused twice: one copy is enough.
  // CSE may also erase a row block or an unsplit op (two identical zero
  // fills, say): mark them, and collect the survivors afterwards.
  constexpr llvm::StringLiteral kRowBlock = "clus.linalg_cpu_row_block";
  constexpr llvm::StringLiteral kUnsplit = "clus.linalg_cpu_unsplit";
  for (Operation *loop : loops)
    loop->setAttr(kRowBlock, rewriter.getUnitAttr());
  for (linalg::LinalgOp op : unsplit)
    op->setAttr(kUnsplit, rewriter.getUnitAttr());
  DominanceInfo dominance(func);
  eliminateCommonSubExpressions(rewriter, dominance, func);
  loops.clear();
  unsplit.clear();
  func.walk([&](Operation *op) {
    if (op->removeAttr(kRowBlock))
      loops.push_back(op);
    else if (op->removeAttr(kUnsplit))
      unsplit.push_back(cast<linalg::LinalgOp>(op));
  });

  // Every op in a row block, fused producers included, to vectors; their
  // loops are found through the row block's.
  SmallVector<Operation *> nested;
  for (Operation *loop : loops) {
    SmallVector<linalg::LinalgOp> tiled;
    loop->walk([&](linalg::LinalgOp op) { tiled.push_back(op); });
    for (linalg::LinalgOp op : tiled) {
      std::string why;
      if (FailureOr<OpKind> kind = classify(op, why); succeeded(kind))
        tileToVectors(rewriter, op, *kind, nested);
    }
  }
  for (linalg::LinalgOp op : unsplit) {
    std::string why;
    tileToVectors(rewriter, op, *classify(op, why), loops);
  }
  vectorizeTiles(rewriter, loops);

  // Vector cleanup inside the tiles only, in two rounds: first 1-D
  // vectors, masks folded into the transfers, unit reductions folded away
  // and slices of tensor.empty as small tensor.empty; then what is left of
  // the multi-reductions as vertical ops plus one horizontal reduction.
  auto addCanonicalization = [&](RewritePatternSet &patterns) {
    for (RegisteredOperationName name : getContext().getRegisteredOperations())
      if (llvm::is_contained({"vector", "tensor", "affine", "arith"},
                             name.getDialectNamespace()))
        name.getCanonicalizationPatterns(patterns, &getContext());
  };
  // The ops of the tiles, kept up to date across the rounds (patterns
  // erase loops and inline their bodies).
  struct Tracker : RewriterBase::Listener {
    llvm::SetVector<Operation *> ops;
    void notifyOperationInserted(Operation *op,
                                 OpBuilder::InsertPoint) override {
      ops.insert(op);
    }
    void notifyOperationErased(Operation *op) override { ops.remove(op); }
  } tracker;
  for (Operation *loop : loops)
    loop->walk([&](Operation *op) { tracker.ops.insert(op); });
  auto cleanUp = [&](RewritePatternSet &&patterns) {
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    config.setListener(&tracker);
    SmallVector<Operation *> ops(tracker.ops.begin(), tracker.ops.end());
    if (failed(applyOpPatternsGreedily(ops, std::move(patterns), config)))
      func.emitWarning("clus-linalg-cpu-tiling: vector cleanup did not "
                       "converge");
  };
  RewritePatternSet patterns(&getContext());
  vector::populateVectorMaskLoweringPatternsForSideEffectingOps(patterns);
  vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
  vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
  // A convolution row reads an n-D vector: one 1-D vector per row.
  vector::UnrollVectorOptions unroll;
  unroll.setNativeShapeFn(
      [](Operation *op) -> std::optional<SmallVector<int64_t>> {
        auto unrollable = dyn_cast<VectorUnrollOpInterface>(op);
        std::optional<SmallVector<int64_t>> shape =
            unrollable ? unrollable.getShapeForUnroll() : std::nullopt;
        if (!shape || shape->size() < 2)
          return std::nullopt;
        SmallVector<int64_t> row(shape->size(), 1);
        row.back() = shape->back();
        return row;
      });
  vector::populateVectorUnrollPatterns(patterns, unroll);
  tensor::populateFoldTensorEmptyPatterns(patterns);
  addCanonicalization(patterns);
  cleanUp(std::move(patterns));

  // An unmasked partial-reduction accumulator is read and written at the
  // same place every iteration: keep it in a vector register instead.
  SmallVector<scf::ForOp> forLoops;
  for (Operation *op : tracker.ops)
    if (auto forOp = dyn_cast<scf::ForOp>(op))
      forLoops.push_back(forOp);
  rewriter.setListener(&tracker);
  for (scf::ForOp forOp : llvm::reverse(forLoops)) {
    // The transfers' indices (constants the cleanup left in the body) must
    // be defined outside the loop for their subset to be invariant.
    moveLoopInvariantCode(cast<LoopLikeOpInterface>(forOp.getOperation()));
    (void)hoistLoopInvariantSubsets(rewriter, forOp);
  }
  rewriter.setListener(nullptr);

  RewritePatternSet reductions(&getContext());
  vector::populateVectorMultiReductionLoweringPatterns(
      reductions, vector::VectorMultiReductionLowering::InnerReduction);
  addCanonicalization(reductions);
  cleanUp(std::move(reductions));
}

} // namespace

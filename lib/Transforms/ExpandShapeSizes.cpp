//===- ExpandShapeSizes.cpp - memref.expand_shape by its output sizes -----===//
//
// expand-strided-metadata derives an expanded group's dynamic size by
// dividing the source size by the group's static sizes, so it can handle
// one dynamic size per group only; with two it crashes (LLVM 22). The op
// carries all its output sizes, so such an expand_shape is rewritten here
// into a memref.reinterpret_cast that uses them directly.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace clusopt {
#define GEN_PASS_DEF_EXPANDSHAPESIZES
#include "clusopt/Transforms/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {
bool hasGroupWithTwoDynamicSizes(memref::ExpandShapeOp op) {
  ArrayRef<int64_t> shape = op.getResultType().getShape();
  for (const ReassociationIndices &group : op.getReassociationIndices()) {
    if (llvm::count_if(group, [&](int64_t dim) {
          return ShapedType::isDynamic(shape[dim]);
        }) > 1)
      return true;
  }
  return false;
}

struct ExpandShapeToReinterpretCast : OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::ExpandShapeOp op,
                                PatternRewriter &rewriter) const override {
    if (!hasGroupWithTwoDynamicSizes(op))
      return rewriter.notifyMatchFailure(op, "expand-strided-metadata copes");
    Location loc = op.getLoc();
    auto metadata =
        memref::ExtractStridedMetadataOp::create(rewriter, loc, op.getSrc());
    SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
    SmallVector<OpFoldResult> strides(sizes.size());
    auto [sourceStrides, sourceOffset] = op.getSrcType().getStridesAndOffset();
    for (auto [sourceDim, group] :
         llvm::enumerate(op.getReassociationIndices())) {
      // Row-major within the group: the innermost dim keeps the source
      // dim's stride, each outer one steps over the dims inside it.
      OpFoldResult stride = metadata.getStrides()[sourceDim];
      if (!ShapedType::isDynamic(sourceStrides[sourceDim]))
        stride = rewriter.getIndexAttr(sourceStrides[sourceDim]);
      for (int64_t dim : llvm::reverse(group)) {
        strides[dim] = stride;
        AffineExpr s0, s1;
        bindSymbols(rewriter.getContext(), s0, s1);
        stride = affine::makeComposedFoldedAffineApply(rewriter, loc, s0 * s1,
                                                       {stride, sizes[dim]});
      }
    }
    // The result type's layout states what is known statically (an
    // identity layout: offset 0, innermost stride 1); the cast must use it.
    MemRefType resultType = op.getResultType();
    auto [staticStrides, staticOffset] = resultType.getStridesAndOffset();
    OpFoldResult offset = getAsOpFoldResult(metadata.getOffset());
    if (!ShapedType::isDynamic(staticOffset))
      offset = rewriter.getIndexAttr(staticOffset);
    for (auto [stride, known] : llvm::zip_equal(strides, staticStrides))
      if (!ShapedType::isDynamic(known))
        stride = rewriter.getIndexAttr(known);
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
        op, resultType, op.getSrc(), offset, sizes, strides);
    return success();
  }
};

struct ExpandShapeSizesPass
    : clusopt::impl::ExpandShapeSizesBase<ExpandShapeSizesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandShapeToReinterpretCast>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

//===- FoldProjections.cpp - projections across clus.pool -----------------===//
//
// (Z·X)·W = Z·(X·W): moves a batch_matmul across a pool to whichever side
// needs fewer multiply-adds. Upstream has no notion of clus.pool's
// linearity, hence this small rewrite.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Transforms/Passes.h"

#include "clusopt/Dialect/Clus/ClusOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace clusopt {
#define GEN_PASS_DEF_FOLDPROJECTIONS
#include "clusopt/Transforms/Passes.h.inc"
} // namespace clusopt

using namespace mlir;
using namespace clusopt::clus;

namespace {

/// Multiply-adds of (Z·X)·W and of Z·(X·W), or nothing if a size is dynamic.
struct Costs {
  int64_t poolFirst, projectFirst;
};

std::optional<Costs> costs(Value z, Value x, Value projected) {
  auto zt = cast<RankedTensorType>(z.getType());
  auto xt = cast<RankedTensorType>(x.getType());
  auto pt = cast<RankedTensorType>(projected.getType());
  if (zt.isDynamicDim(1) || zt.isDynamicDim(2) || xt.isDynamicDim(2) ||
      pt.isDynamicDim(2))
    return std::nullopt;
  int64_t m = zt.getDimSize(1), n = zt.getDimSize(2), c = xt.getDimSize(2),
          cOut = pt.getDimSize(2);
  return Costs{m * n * c + m * c * cOut, n * c * cOut + m * n * cOut};
}

bool isZeroFilled(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
}

/// A zero-filled accumulator like `like` with the batch and row sizes of
/// `rowsFrom` (the output width is static, as the cost model requires).
Value zeroInit(PatternRewriter &rewriter, Location loc, RankedTensorType like,
               Value rowsFrom) {
  SmallVector<int64_t> shape(like.getShape());
  auto rowsType = cast<RankedTensorType>(rowsFrom.getType());
  shape[1] = rowsType.getDimSize(1);
  SmallVector<Value> dynamic;
  for (int64_t i = 0; i < like.getRank(); ++i)
    if (ShapedType::isDynamic(shape[i]))
      dynamic.push_back(tensor::DimOp::create(rewriter, loc, rowsFrom, i));
  Value empty = tensor::EmptyOp::create(rewriter, loc, shape,
                                        like.getElementType(), dynamic);
  Value zero = arith::ConstantOp::create(
      rewriter, loc, rewriter.getZeroAttr(like.getElementType()));
  return linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
}

/// Clones `matmul` with `lhs` as its first input and a fresh zero
/// accumulator shaped for it; the indexing maps are kept.
Value projectWith(PatternRewriter &rewriter, linalg::BatchMatmulOp matmul,
                  Value lhs) {
  auto resultType = cast<RankedTensorType>(matmul.getResult(0).getType());
  Value init = zeroInit(rewriter, matmul.getLoc(), resultType, lhs);
  auto clone = cast<linalg::BatchMatmulOp>(rewriter.clone(*matmul));
  clone->setOperand(0, lhs);
  clone->setOperand(2, init);
  clone.getResult(0).setType(cast<RankedTensorType>(init.getType()));
  return clone.getResult(0);
}

/// pool(Z, X) into a fresh destination: [B, M] from Z, C from X.
PoolOp createPool(PatternRewriter &rewriter, Location loc, Value z, Value x) {
  SmallVector<Type> types;
  LogicalResult inferred =
      PoolOp::inferResultTypes(rewriter.getContext(), std::nullopt,
                               PoolOp::Adaptor(ValueRange{z, x, x}), types);
  assert(succeeded(inferred) && "the operands come from a verified pool");
  (void)inferred;
  auto type = cast<RankedTensorType>(types.front());
  SmallVector<Value> dynamic;
  for (auto [axis, from, fromAxis] :
       {std::tuple{0, z, 0}, std::tuple{1, z, 1}, std::tuple{2, x, 2}})
    if (type.isDynamicDim(axis))
      dynamic.push_back(tensor::DimOp::create(rewriter, loc, from, fromAxis));
  Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                       type.getElementType(), dynamic);
  return PoolOp::create(rewriter, loc, type, z, x, init);
}

/// batch_matmul(pool(Z, X), W) → pool(Z, batch_matmul(X, W)).
struct ProjectBeforePool : OpRewritePattern<linalg::BatchMatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::BatchMatmulOp matmul,
                                PatternRewriter &rewriter) const override {
    if (!matmul.hasPureTensorSemantics())
      return failure();
    auto pool = matmul.getInputs()[0].getDefiningOp<PoolOp>();
    if (!pool || !pool->hasOneUse() || !isZeroFilled(matmul.getOutputs()[0]))
      return rewriter.notifyMatchFailure(matmul, "not a projected pool");
    std::optional<Costs> c =
        costs(pool.getZ(), pool.getX(), matmul.getResult(0));
    if (!c || c->projectFirst >= c->poolFirst)
      return rewriter.notifyMatchFailure(matmul, "pooling first is cheaper");
    rewriter.setInsertionPoint(matmul);
    Value projected = projectWith(rewriter, matmul, pool.getX());
    PoolOp folded = createPool(rewriter, pool.getLoc(), pool.getZ(), projected);
    folded->setDiscardableAttrs(pool->getDiscardableAttrDictionary());
    Value result = folded->getResult(0);
    if (result.getType() != matmul.getResult(0).getType())
      result = tensor::CastOp::create(rewriter, matmul.getLoc(),
                                      matmul.getResult(0).getType(), result);
    rewriter.replaceOp(matmul, result);
    return success();
  }
};

/// pool(Z, batch_matmul(X, W)) → batch_matmul(pool(Z, X), W).
struct PoolBeforeProject : OpRewritePattern<PoolOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PoolOp pool,
                                PatternRewriter &rewriter) const override {
    auto matmul = pool.getX().getDefiningOp<linalg::BatchMatmulOp>();
    if (!matmul || !matmul->hasOneUse() || !matmul.hasPureTensorSemantics() ||
        !isZeroFilled(matmul.getOutputs()[0]))
      return rewriter.notifyMatchFailure(pool, "tokens are not projected");
    Value tokens = matmul.getInputs()[0];
    if (cast<RankedTensorType>(tokens.getType()).getRank() != 3)
      return failure();
    std::optional<Costs> c = costs(pool.getZ(), tokens, pool.getX());
    if (!c || c->poolFirst >= c->projectFirst)
      return rewriter.notifyMatchFailure(pool, "projecting first is cheaper");
    rewriter.setInsertionPoint(pool);
    PoolOp pooled = createPool(rewriter, pool.getLoc(), pool.getZ(), tokens);
    pooled->setDiscardableAttrs(pool->getDiscardableAttrDictionary());
    Value result = projectWith(rewriter, matmul, pooled->getResult(0));
    Type type = pool->getResult(0).getType();
    if (result.getType() != type)
      result = tensor::CastOp::create(rewriter, pool.getLoc(), type, result);
    rewriter.replaceOp(pool, result);
    return success();
  }
};

struct FoldProjectionsPass
    : clusopt::impl::FoldProjectionsBase<FoldProjectionsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ProjectBeforePool, PoolBeforeProject>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

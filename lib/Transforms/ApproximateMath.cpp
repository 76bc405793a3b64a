//===- ApproximateMath.cpp - polynomial exp for vector code ---------------===//

#include "lib/Transforms/Passes.h"

#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace clusopt {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "lib/Transforms/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {
struct ApproximateMathPass
    : clusopt::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) { return name == "math.exp"; });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

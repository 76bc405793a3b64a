//===- ApproximateMath.cpp - polynomial exp and erf for vector code -------===//

#include "clusopt/Transforms/Passes.h"

#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace clusopt {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "clusopt/Transforms/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {
struct ApproximateMathPass
    : clusopt::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == "math.exp" || name == "math.erf";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

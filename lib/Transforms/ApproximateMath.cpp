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
    // A power by a constant integer (torch's x ** 2 in a variance) becomes
    // multiplications: LLVM's powi takes a scalar exponent only, and a
    // vectorised one has a vector of them.
    math::populateExpansionPatterns(patterns, {"fpowi"});
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

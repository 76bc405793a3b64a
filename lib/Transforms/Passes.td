//===- Passes.td - clusopt transform passes -------------------*- tablegen -*-===//

#ifndef CLUSOPT_TRANSFORMS_PASSES_TD
#define CLUSOPT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ApproximateMath : Pass<"clus-approximate-math"> {
  let summary = "Replace f32 math.exp by upstream's polynomial approximation";
  let description = [{
    LLVM scalarises `llvm.exp` on vectors into one `expf` call per lane,
    which dominates a vectorised softmax. This pass applies upstream's
    `populateMathPolynomialApproximationPatterns` to `math.exp` only: a
    range reduction plus a polynomial in plain arith ops that vectorise,
    accurate to a few ulp (well inside the SPEC §3 tolerances).

    Upstream exposes these patterns only through a test pass, hence this
    wrapper.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // CLUSOPT_TRANSFORMS_PASSES_TD

//===- Passes.td - clusopt transform passes -------------------*- tablegen -*-===//

#ifndef CLUSOPT_TRANSFORMS_PASSES_TD
#define CLUSOPT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ApproximateMath : Pass<"clus-approximate-math"> {
  let summary = "Replace f32 math.exp and math.erf by upstream's polynomial approximations";
  let description = [{
    LLVM scalarises `llvm.exp` on vectors into one `expf` call per lane,
    which dominates a vectorised softmax. This pass applies upstream's
    `populateMathPolynomialApproximationPatterns` to `math.exp` and
    `math.erf` only (LLVM has no `erf` intrinsic at all): a range reduction
    plus a polynomial (exp) or a rational approximation (erf) in plain arith
    ops that vectorise, accurate to a few ulp (well inside the tolerances of
    docs/numerics.md).

    Upstream exposes these patterns only through a test pass, hence this
    wrapper.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def FoldProjections : Pass<"clus-fold-projections"> {
  let summary = "Move a projection across clus.pool to the cheaper side";
  let description = [{
    Pooling is linear, so a projection of the pooled clusters equals pooling
    the projected tokens: `(Z·X)·W = Z·(X·W)`. With `Z [B,M,N]`,
    `X [B,N,C]` and `W` mapping C to C', the left side costs
    `M·N·C + M·C·C'` multiply-adds and the right `N·C·C' + M·N·C'`. This pass
    rewrites `linalg.batch_matmul(clus.pool(Z, X), W)` into
    `clus.pool(Z, linalg.batch_matmul(X, W))` when that is cheaper, and the
    reverse when the other side is, so either spelling compiles to the
    cheaper one. The matmul's `indexing_maps` (e.g. a broadcast 2-D `W`) are
    kept.

    It applies only with static M, N, C and C' (the costs must be known), a
    zero-filled matmul accumulator, and a single use of the intermediate.
    A `clus.soft_assign` producing `Z` still fuses into the pool afterwards.

    Example: with M = 100, N = 196, C = 320 and C' = 64, the projection moves
    before the pool (5.3 M instead of 8.3 M multiply-adds).
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def StridedCopiesToLinalg : Pass<"clus-strided-copies-to-linalg"> {
  let summary = "Rewrite memref.copy between strided views as linalg.copy";
  let description = [{
    `finalize-memref-to-llvm` lowers a `memref.copy` whose source or target
    is not contiguous (a subview such as the interior of a `tensor.pad`'s
    buffer) to a call of `memrefCopy`, a function of MLIR's C runner
    utilities that no kernel library links: the library then fails to
    load. This pass rewrites those copies as `linalg.copy`, which the CPU
    pipelines turn into loops. Contiguous copies stay `memref.copy` (an
    LLVM memcpy).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // CLUSOPT_TRANSFORMS_PASSES_TD

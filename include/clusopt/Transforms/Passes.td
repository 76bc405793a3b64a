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

def LinalgToUKernel : Pass<"clus-linalg-to-ukernel", "::mlir::ModuleOp"> {
  let summary = "Call the GEMM micro-kernel for f32 matmuls on buffers";
  let description = [{
    Rewrites f32 GEMMs on memrefs into calls of `clusopt_ukernel_gemm_f32`,
    the packed-panel, register-tiled GEMM of `runtime/ukernels` that the
    runtime's layers use too (per-ISA micro-kernels picked at run time,
    multi-threaded through libomp). Handled:

    - `linalg.matmul` and `linalg.batch_matmul`, with transposed or
      broadcast operands through their `indexing_maps` (any strides of the
      inputs; the result's last axis must have unit stride);
    - `linalg.conv_2d_nhwc_hwcf` with a 1x1 filter and unit strides, on
      dense NHWC buffers (a batch of `[H·W, Cin] x [Cin, Cout]` GEMMs).

    A `linalg.fill` of 0.0 into the accumulator right before the GEMM is
    dropped (the call stores instead of accumulating; without one it adds
    to what the accumulator holds). An elementwise `linalg.generic` right
    after it that computes `[GELU](gemm + [bias row] + [residual])` (exact,
    erf-based GELU; the bias indexed by the column axis) is folded into the
    call when it writes the GEMM's own buffer or a fresh one that nothing
    else reads.

    Other matmul-like ops (other element types, several reduction axes, a
    result with strided columns) stay as they are, for the loops later in
    the pipeline, with a remark. The kernel library must be linked with
    `libclusopt_ukernels.a` (clusopt-compile does).

    Example:

    ```mlir
    linalg.fill ins(%zero : f32) outs(%c : memref<3136x96xf32>)
    linalg.matmul ins(%a, %b : memref<3136x96xf32>, memref<96x96xf32>)
                  outs(%c : memref<3136x96xf32>)
    ```

    becomes one `llvm.call @clusopt_ukernel_gemm_f32(...)` with the three
    buffers' pointers, sizes and strides.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

#endif // CLUSOPT_TRANSFORMS_PASSES_TD

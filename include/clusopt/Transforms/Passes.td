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

def LoweringConfig : Pass<"clus-lowering-config", "::mlir::ModuleOp"> {
  let summary = "Attach each clus op's lowering config (its tile sizes)";
  let description = [{
    Gives every `clus` op whose CPU kernel reads tile sizes a complete
    `clus.lowering_config` (`#clus.lowering_config<rows = R, cols = C>`,
    only the sizes the kernel reads), so `convert-clus-to-vector`, the
    manifest of `clusopt-compile` and its tuner all take the tile from this
    one place. For each op, in order of precedence:

    1. the sizes its own `clus.lowering_config` sets;
    2. with `tuning-db`, the tile of the database's record for the op (its
       tuning key: op, attributes, types, `target` and compiler version);
       the op is then also marked `clus.tuning_record = {db, id, key}`;
    3. the `rows` and `cols` options.

    `cols` is clamped to the op's streamed extent padded to the vector
    width when that extent is static (a larger tile is the same kernel).
    A size that is illegal for the vector width (e.g. `cols = 40` with 16
    lanes) or a database that cannot be read is an error naming it.

    Example: `--clus-lowering-config="target=x86-64-v4 rows=2 cols=64"`,
    or `--clus-lowering-config="target=host tuning-db=tuning.sqlite"`.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"\"",
           "CPU target (host, x86-64, x86-64-v3, x86-64-v4, aarch64): sets "
           "the vector width and the tuning key's target; empty: use "
           "vector-width">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector when no target is given: 4, 8 or 16">,
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Default register-blocked rows (1-8)">,
    Option<"cols", "cols", "int64_t", /*default=*/"128",
           "Default streamed-axis tile, a multiple of the vector width">,
    Option<"tuningDb", "tuning-db", "std::string", /*default=*/"\"\"",
           "clusopt-tune's database to take records from (needs target); "
           "empty: none">,
  ];
}

#endif // CLUSOPT_TRANSFORMS_PASSES_TD

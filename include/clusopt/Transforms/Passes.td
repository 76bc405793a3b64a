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

def ExpandShapeSizes : Pass<"clus-expand-shape-sizes"> {
  let summary = "Rewrite memref.expand_shape with several dynamic sizes in a group as a reinterpret_cast";
  let description = [{
    `expand-strided-metadata` computes an expanded group's one dynamic size
    from the source size and crashes (LLVM 22) when a group has two or more,
    e.g. `tensor<?xf32>` expanded into `tensor<?x?xf32>` with sizes taken
    from another tensor. Such an `expand_shape` names all its output sizes,
    so this pass rewrites it into `memref.extract_strided_metadata` plus a
    `memref.reinterpret_cast` with those sizes and row-major strides inside
    each group. Other `expand_shape` ops are left to upstream. Runs before
    `expand-strided-metadata` in every CPU pipeline.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::memref::MemRefDialect",
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

def UnshareDestinations : Pass<"clus-unshare-destinations"> {
  let summary = "Give each use of a linalg.fill or tensor.empty on tensors its own";
  let description = [{
    CSE merges identical `linalg.fill`s and `tensor.empty`s: the zero
    accumulators of several GEMMs of the same shape become one tensor that
    they all write in place, and one `tensor.empty` ends up as the
    destination of ops that have nothing to do with each other (a
    LayerNorm's output and a later GEMM's bias add, say). One-shot
    bufferization then copies the filled buffer for all writers but one (a
    pass over memory that a fill of their own avoids: a fill writes what a
    copy reads and writes), and lets the users of one `tensor.empty` take
    turns with one buffer once the previous user's value is dead. Both hide
    a GEMM's zero fill and epilogue from `clus-linalg-to-ukernel`, which
    folds them into its call only when they write the GEMM's own buffer, or
    a fresh one that the call does not read.

    This pass, run just before bufferization, undoes that sharing, as the
    IR was written: a fill gets a clone (filling a clone of its
    `tensor.empty`) for every destination (DPS init) use but the first
    (uses that only read it keep the original), and every use of a
    `tensor.empty` whose uses are all linalg destinations but the first
    gets a clone (a `tensor.empty` that is sliced and written back stays
    one). Clones go right before the
    user where it is in the original's block, else right after the
    original, never into a loop the original is outside of.

    Example: `%z = linalg.fill ins(%cst) outs(%e)` used as `outs(%z)` by
    two `linalg.matmul`s becomes two fills of two `tensor.empty`s, one
    right before each matmul.
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
    3. the `rows` and `cols` options; `rows = 0` (the default) leaves
       each op its own rows: 8 for `pool` with 16 lanes, else 4.

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
    Option<"rows", "rows", "int64_t", /*default=*/"0",
           "Default register-blocked rows (1-8); 0: each op's own (pool 8 with 16 lanes, else 4)">,
    Option<"cols", "cols", "int64_t", /*default=*/"128",
           "Default streamed-axis tile, a multiple of the vector width">,
    Option<"tuningDb", "tuning-db", "std::string", /*default=*/"\"\"",
           "clusopt-tune's database to take records from (needs target); "
           "empty: none">,
  ];
}

def LinalgCpuTiling : Pass<"clus-linalg-cpu-tiling", "::mlir::func::FuncOp"> {
  let summary = "Tile, fuse and vectorise elementwise, reduction and convolution linalg ops for the CPU";
  let description = [{
    The optimised CPU pipeline's path for the `linalg` around the `clus`
    ops. For every linalg op at the top level of a function, on tensors:

    1. *Rows in parallel.* The op's outer parallel dimensions are tiled
       with `scf::tileConsumerAndFuseProducersUsingSCF` into an
       `scf.forall` (later `scf.parallel`, then OpenMP), fusing the
       elementwise and reduction producers whose tiles it needs: a
       LayerNorm's mean and variance, a softmax's max and sum, a bias
       before a GELU. A producer whose tile would be the same in every
       iteration (a reduction over the tiled rows) is not fused, so nothing
       is recomputed per tile.
    2. *Vectors in a tile.* Each op in a tile is tiled again with
       `scf::tileUsingSCF` to one vector of `vector-width` lanes along its
       innermost dimension: a reduction along that dimension keeps
       `vector-width` partial results (upstream's partial-reduction tiling)
       and reduces them once at the end; convolutions become one output
       row, `vector-width` channels, and are decomposed to 1-D
       convolutions.
    3. `linalg::vectorize` vectorises each of these, masked where a size is
       not a multiple of the vector width (ragged or dynamic rows), and
       upstream's vector patterns drop unit dimensions, fold the masks into
       transfers and lower multi-reductions.

    Handled: `linalg.generic` and the named elementwise, fill, broadcast,
    transpose and reduce ops (projected-permutation indexing maps; a
    reduction over the innermost dimension needs a combiner upstream
    recognises, e.g. `arith.addf` or `arith.maximumf`),
    `linalg.depthwise_conv_2d_nhwc_hwc` and `linalg.conv_2d_nhwc_hwcf`
    with a filter wider than 1x1. Everything else (contractions, 1x1
    convolutions, ops on buffers, a tile `linalg::vectorize` rejects) is
    left as it is, for the pipeline's scalar loops, with a remark that
    names the op and the reason.

    Example: `linalg.generic` computing GELU on `tensor<?x384xf32>` becomes
    an `scf.forall` over blocks of rows whose body loops over rows and
    24 vectors of 16 lanes, each a `vector.transfer_read`, the GELU on
    `vector<16xf32>` and a `vector.transfer_write`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector (8 for AVX2, 16 for AVX-512)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::affine::AffineDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
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

def OutlineParallelLoops : Pass<"clus-outline-parallel-loops",
                                "::mlir::ModuleOp"> {
  let summary = "Move each outermost scf.parallel into a private function of its own";
  let description = [{
    Keeps the translation to LLVM IR linear in the size of a whole model.
    OpenMP's IR builder outlines every `omp.parallel` when the module is
    translated, and for each one it first scans the whole function that
    holds it. A model imported from PyTorch is one function with hundreds
    of parallel loops, so that scan made the translation quadratic (a
    fifth of compiling paca_tiny). After this pass each function holds one
    outermost parallel loop; LLVM's inliner puts the small callers back
    together after translation.

    Each outermost `scf.parallel` becomes a call of a new private function
    `<function>_par<i>`. The values the loop uses from outside become its
    arguments, except constants, which are cloned into it (so vector and
    index constants still fold). Functions without a body are left alone.

    Example:

    ```mlir
    func.func @f(%m: memref<64xf32>) {
      scf.parallel (%i) = (%c0) to (%c64) step (%c1) { ... }
      return
    }
    ```

    becomes `func.call @f_par0(%m)` and a private `@f_par0` holding the
    loop and the constants `%c0`, `%c64` and `%c1`.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

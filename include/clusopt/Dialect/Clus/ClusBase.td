//===- ClusBase.td - clus dialect, enums and type constraints --*- tablegen -*-===//
//
// The `clus` dialect describes clustering, aggregation and clustered
// attention. This file holds the dialect itself (its description is the
// introduction of docs/dialect/ClusDialect.md), its enum attributes and the
// type constraints shared by the ops.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_DIALECT_CLUS_CLUSBASE_TD
#define CLUSOPT_DIALECT_CLUS_CLUSBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Clus_Dialect : Dialect {
  let name = "clus";
  let cppNamespace = "::clusopt::clus";
  let summary = "Clustering, aggregation and clustered attention";
  let description = [{
    The `clus` dialect expresses the clustering-attention family of
    operators used by PaCa-ViT, ClusTR and CAST-style Vision Transformers:
    soft and hard clustering of tokens, aggregation of tokens into clusters
    and back, and attention of tokens against clusters or within clusters.
    Each op's description below is normative: every lowering and every
    target computes exactly that function, within the tolerances of
    `docs/numerics.md`, and the float64 NumPy oracle
    (`python/clusopt/reference.py`) implements it formula by formula.

    ## Conventions

    - **Dimension names.** `B` batch, `H` heads, `N` tokens, `M` clusters,
      `C` channels, `D` head dim of queries and keys, `Dv` head dim of
      values, `S` scales, `κ` (kappa) cluster capacity. Shapes are written
      `[B, N, C]` and are row-major; `X[b, n, :]` is row `n` of batch item
      `b`, and a formula without `b` (or `b, h`) holds for every batch item
      (and head).
    - **Types.** Operands are ranked tensors without an encoding, with
      static or dynamic (`?`) dims. Float operands are `f32`, `f16` or
      `bf16`, and all float operands and results of one op share one
      element type. Index operands and results are `i32`, counting from 0.
    - **Precision.** Every reduction and softmax accumulates in `f32`
      whatever the storage type; `f16`/`bf16` values are widened on load
      and rounded once when the result is stored.
    - **Softmax** is always the stable form
      `softmax(s)_j = exp(s_j − max s) / Σ_k exp(s_k − max s)`.
    - **Ties** are broken towards the lower index everywhere: argmin,
      argmax, top-k and every descending order. With that rule every index
      result is a function of the inputs.
    - **Index operands** (`assign`, `members`) may hold any `i32`; an
      entry outside its valid range (-1 for "none", for instance) is
      ignored as each op says, and never causes an out-of-bounds access.
    - **Dynamic shapes.** The verifier checks every rule it can on the
      static dims: ranks, element types, equal sizes for every dim that two
      operands (or an operand and an attribute) share, and attribute
      ranges; result types are inferred, keeping each dim static when any
      operand fixes it, and every destination must agree with it. Rules
      that need a dynamic size (`M ≤ N` for
      `kmeans` and `dpc_knn`) are the caller's: the Python harness
      (`clusopt.kernels.run`) and the runtime's models check them before a
      call, as a kernel has no error channel.
    - **Destination-passing style.** Every op takes one destination
      operand per result, written `outs(%init, ...)` after its attributes,
      and its result types after `->` (`soft_assign`, whose result has its
      operand's type, has no arrow). Each result has its destination's
      type. A destination only gives its result's shape and, once
      bufferized, its buffer: its contents are never read, and the op never
      writes any other operand. This is the convention of `linalg`, so
      upstream tiling, fusion and one-shot bufferization treat `clus` ops
      like `linalg` ops.
    - **Buffer form.** One-shot bufferization turns each op into the same
      op on memrefs (of any layout): no results, its destinations written
      in place, and the types after `->` (for `soft_assign`, after its
      logits' type, when it differs) are the destinations'. An op's
      operands are all tensors or all memrefs. The lowerings run on the
      tensor form, before bufferization, and reject the buffer form.

      ```mlir
      func.func @pool_buffers(%z: memref<2x100x3136xf32>,
                              %x: memref<2x3136x96xf32>,
                              %y: memref<2x100x96xf32>) {
        clus.pool %z, %x outs(%y)
            : memref<2x100x3136xf32>, memref<2x3136x96xf32>
            -> memref<2x100x96xf32>
        return
      }
      ```
    - **Split reductions.** The tokens of `pool` and the keys of a
      single-scale `attention` can be split into chunks by upstream's
      partial-reduction tiling (`transform.structured.
      tile_reduction_using_for`): f32 partials are carried across the
      chunks and merged after them (attention's as online softmax).
    - **Lowering configs.** An op may carry a discardable
      `clus.lowering_config = #clus.lowering_config<rows = R, cols = C>`
      attribute, which sets the tile of the optimised CPU lowering for that
      op. It changes only the order of reductions, never the function. The
      dialect verifies it: the sizes' ranges, and that the op's kernel reads
      every size it sets.

    Projections, norms, activations and matmuls are not part of this
    dialect: they are ordinary upstream ops (`linalg`, `arith`, `math`,
    `tensor`) that mix freely with `clus` ops in a `func.func`, which is how
    a whole layer is written. Pooling is linear, so `clus-fold-projections`
    may move a projection across a `clus.pool`:
    `(Z·X)·W = Z·(X·W)`.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Clus_SoftAssignAxis : I32EnumAttr<"SoftAssignAxis",
    "axis over which soft_assign normalises", [
      I32EnumAttrCase<"tokens", 0>,
      I32EnumAttrCase<"clusters", 1>
    ]> {
  let cppNamespace = "::clusopt::clus";
  let genSpecializedAttr = 0;
}
def Clus_SoftAssignAxisAttr
    : EnumAttr<Clus_Dialect, Clus_SoftAssignAxis, "axis">;

def Clus_KMeansMetric : I32EnumAttr<"KMeansMetric",
    "distance used by kmeans", [
      I32EnumAttrCase<"l2", 0>,
      I32EnumAttrCase<"cosine", 1>
    ]> {
  let cppNamespace = "::clusopt::clus";
  let genSpecializedAttr = 0;
}
def Clus_KMeansMetricAttr
    : EnumAttr<Clus_Dialect, Clus_KMeansMetric, "metric">;

def Clus_Reduction : I32EnumAttr<"Reduction",
    "segment reduction used by aggregate", [
      I32EnumAttrCase<"sum", 0>,
      I32EnumAttrCase<"mean", 1>,
      I32EnumAttrCase<"weighted_mean", 2>
    ]> {
  let cppNamespace = "::clusopt::clus";
  let genSpecializedAttr = 0;
}
def Clus_ReductionAttr : EnumAttr<Clus_Dialect, Clus_Reduction, "reduction">;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

// A tile size that may be left out; an integer when given (so `rows =
// "four"` says "expected integer value").
class Clus_OptionalTileSize<string desc>
    : OptionalParameter<"std::optional<int64_t>", desc> {
  let parser = [{ [&]() -> ::mlir::FailureOr<std::optional<int64_t>> {
    int64_t value;
    if ($_parser.parseInteger(value))
      return ::mlir::failure();
    return std::optional<int64_t>(value);
  }() }];
  let printer = "$_printer << *$_self";
}

def Clus_LoweringConfigAttr : AttrDef<Clus_Dialect, "LoweringConfig"> {
  let mnemonic = "lowering_config";
  let summary = "Tile sizes of an op's optimised CPU kernel";
  let description = [{
    The tile sizes `convert-clus-to-vector` uses for one op, attached to it
    as the discardable attribute `clus.lowering_config`. Either size may be
    left out; the lowering then takes its default (the `rows` and `cols`
    options of `clus-lowering-config` or `convert-clus-to-vector`).

    - `rows`: rows of the op's parallel axis blocked in registers (query
      rows, cluster rows or token rows), in [1, 8].
    - `cols`: the tile of the streamed axis (clusters for `attention`,
      tokens for `pool` and `cluster_attention`), a multiple of 4 in
      [4, 4096]. The lowering also needs a multiple of its vector width (8
      f32 lanes with AVX2, 16 with AVX-512) and says so when it is not.

    The attribute must set at least one size. On an op, the dialect also
    checks that the op's kernel reads every size set: `pool`, `attention`
    and `cluster_attention` read both, `kmeans` and `dpc_knn` only `rows`,
    and the other ops neither, so they take no config.

    Example:

    ```mlir
    func.func @attention(%q: tensor<1x2x3136x48xf32>,
                         %k: tensor<1x2x100x48xf32>,
                         %v: tensor<1x2x100x48xf32>) -> tensor<1x2x3136x48xf32> {
      %init = tensor.empty() : tensor<1x2x3136x48xf32>
      %o = clus.attention %q, [%k, %v] outs(%init)
          {clus.lowering_config = #clus.lowering_config<rows = 6, cols = 112>}
          : tensor<1x2x3136x48xf32>,
            [tensor<1x2x100x48xf32>, tensor<1x2x100x48xf32>]
          -> tensor<1x2x3136x48xf32>
      return %o : tensor<1x2x3136x48xf32>
    }

    func.func @kmeans_rows_only(%x: tensor<1x196x64xf32>)
        -> (tensor<1x196xi32>, tensor<1x8x64xf32>) {
      %a_init = tensor.empty() : tensor<1x196xi32>
      %c_init = tensor.empty() : tensor<1x8x64xf32>
      %a, %c = clus.kmeans %x clusters = 8 iterations = 5
          outs(%a_init, %c_init)
          {clus.lowering_config = #clus.lowering_config<rows = 2>}
          : tensor<1x196x64xf32> -> tensor<1x196xi32>, tensor<1x8x64xf32>
      return %a, %c : tensor<1x196xi32>, tensor<1x8x64xf32>
    }
    ```
  }];
  let parameters = (ins
    Clus_OptionalTileSize<"register-blocked rows, in [1, 8]">:$rows,
    Clus_OptionalTileSize<"streamed-axis tile, a multiple of 4 in [4, 4096]">:$cols
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The name of the discardable attribute that holds it on an op.
    static constexpr ::llvm::StringLiteral kAttrName = "clus.lowering_config";
    static constexpr int64_t kMaxRows = 8;
    static constexpr int64_t kMaxCols = 4096;
    /// `cols` is a multiple of the narrowest vector width (NEON, SSE).
    static constexpr int64_t kColsMultiple = 4;
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Clus_Float : AnyTypeOf<[F32, F16, BF16], "f32, f16 or bf16">;

class Clus_FloatTensorOfRank<int rank>
    : TensorRankOf<[Clus_Float], [rank]>;
class Clus_IndexTensorOfRank<int rank> : TensorRankOf<[I32], [rank]>;

// Operands take a tensor (value semantics) or a memref of any layout (buffer
// semantics, as one-shot bufferization leaves them); an op's operands are
// all one or all the other.
class Clus_FloatShapedOfRank<int rank>
    : AnyTypeOf<[TensorRankOf<[Clus_Float], [rank]>,
                 MemRefRankOf<[Clus_Float], [rank]>],
                rank # "D tensor or memref of f32, f16 or bf16 values",
                "::mlir::ShapedType">;
class Clus_IndexShapedOfRank<int rank>
    : AnyTypeOf<[TensorRankOf<[I32], [rank]>, MemRefRankOf<[I32], [rank]>],
                rank # "D tensor or memref of 32-bit signless integer values",
                "::mlir::ShapedType">;

#endif // CLUSOPT_DIALECT_CLUS_CLUSBASE_TD

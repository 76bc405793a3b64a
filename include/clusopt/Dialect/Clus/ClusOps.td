//===- ClusOps.td - clus dialect ops ---------------------------*- tablegen -*-===//
//
// The nine ops of the clus dialect. Each op's description is its normative
// definition (published as docs/dialect/ClusDialect.md); the reference
// lowering (convert-clus-to-linalg) implements them formula by formula.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_DIALECT_CLUS_CLUSOPS_TD
#define CLUSOPT_DIALECT_CLUS_CLUSOPS_TD

include "clusopt/Dialect/Clus/ClusBase.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Clus_Op<string mnemonic, list<Trait> traits = []>
    : Op<Clus_Dialect, mnemonic, traits>;

// Every clus op is in destination-passing style: its last `numOuts`
// operands are the destinations (`outs`) of its results, one per result and
// of the same type. Their contents are never read; they give each result its
// shape and, after bufferization, its buffer. The verifier derives the
// result types from the other operands and attributes (inferResultTypes)
// and checks that every destination matches.
//
// An op has value semantics (tensor operands, one result per destination)
// or, after one-shot bufferization, buffer semantics (memref operands, no
// results: the op writes its destinations). Only the buffer form touches
// memory, so the memory effects are the op's own (ClusOps.cpp).
class Clus_DpsOp<string mnemonic, int numOuts, list<Trait> traits = [],
                 code extraDecl = [{}]>
    : Clus_Op<mnemonic, !listconcat(traits,
          [DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
           DeclareOpInterfaceMethods<ConditionallySpeculatable>,
           DestinationStyleOpInterface])> {
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      unsigned numOperands = getOperation()->getNumOperands();
      return ::mlir::MutableOperandRange(getOperation(),
                                         numOperands - }] # numOuts # [{,
                                         }] # numOuts # [{);
    }

    /// The result types that the inputs and attributes give, with a
    /// diagnostic at `loc` (when set) naming the first rule they break.
    /// They are tensor types; in the buffer form they are the shapes the
    /// destinations must have.
    static ::mlir::LogicalResult
    inferResultTypes(::mlir::MLIRContext *context,
                     std::optional<::mlir::Location> loc, Adaptor adaptor,
                     ::llvm::SmallVectorImpl<::mlir::Type> &results);
  }] # extraDecl;
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// soft_assign
//===----------------------------------------------------------------------===//

def Clus_SoftAssignOp : Clus_DpsOp<"soft_assign", 1> {
  let summary = "PaCa soft clustering: softmax of cluster logits";
  let description = [{
    Turns cluster logits into soft assignments of tokens to clusters.

    **Operand.** `logits`: float `[B, M, N]`.

    **Attribute.** `axis`: `tokens` (default) or `clusters`, the axis the
    softmax normalises.

    **Result.** `z`: the type of `logits`.

    **Semantics.** With `axis = tokens` (PaCa), each cluster is a
    distribution over the tokens:
    `Z[b, m, :] = softmax_n(logits[b, m, :])`, so every row of `Z` sums to
    1 along `N`. With `axis = clusters`, each token is a distribution over
    the clusters: `Z[b, :, n] = softmax_m(logits[b, :, n])`. The softmax is
    the stable one of the dialect's conventions and accumulates in `f32`.
    When the result feeds a `clus.pool`, the optimised lowerings fuse the
    two (see `clus.pool`).

    **Destination.** `outs(%init)`: one tensor of the result's type, whose
    contents are not read (see *Destination-passing style*).

    **Verifier.** `logits` must be a rank-3 float tensor without an
    encoding; the destination and the result have the type of `logits`.
    Each destination must match the type its result gets from the
    operands and attributes ("outs #i has type ..., but the inputs give its
    result the type ..."): same rank and element type, and equal sizes
    where both are static.

    Example:

    ```mlir
    func.func @soft_assign(%logits: tensor<2x100x?xf16>,
                           %init: tensor<2x100x?xf16>)
        -> (tensor<2x100x?xf16>, tensor<2x100x?xf16>) {
      %z = clus.soft_assign %logits outs(%init) : tensor<2x100x?xf16>
      %w = clus.soft_assign %logits axis = clusters outs(%init)
          : tensor<2x100x?xf16>
      return %z, %w : tensor<2x100x?xf16>, tensor<2x100x?xf16>
    }
    ```
  }];
  let arguments = (ins Clus_FloatShapedOfRank<3>:$logits,
      DefaultValuedAttr<Clus_SoftAssignAxisAttr,
                        "::clusopt::clus::SoftAssignAxis::tokens">:$axis,
      Clus_FloatShapedOfRank<3>:$z_init);
  let results = (outs Optional<Clus_FloatTensorOfRank<3>>:$z);
  let assemblyFormat = [{
    $logits (`axis` `=` `` $axis^)? `outs` `(` $z_init `)` attr-dict
    `:` custom<SoftAssignTypes>(type($logits), type($z_init), type($z))
  }];
}

//===----------------------------------------------------------------------===//
// pool
//===----------------------------------------------------------------------===//

def Clus_PoolOp : Clus_DpsOp<"pool", 1> {
  let summary = "Soft aggregation of tokens into clusters";
  let description = [{
    Pools tokens into clusters with soft assignments.

    **Operands.** `z`: float `[B, M, N]`, the weight of each token in each
    cluster; `x`: `[B, N, C]`, the tokens, of the same element type.

    **Result.** `y`: `[B, M, C]`, the element type of `x`.

    **Semantics.** `Y[b, m, c] = Σ_n Z[b, m, n] · X[b, n, c]`, accumulated
    in `f32`. `Z` need not be normalised. With `N = 0` the result is zero.

    A `clus.soft_assign` with `axis = tokens` feeding `z` is PaCa's
    clustering step. The optimised lowerings fuse the pair into one pass of
    online-softmax weighted pooling: the normalised `Z` is never written to
    memory. A projection of the result may be moved to the tokens, or back,
    by `clus-fold-projections`: `(Z·X)·W = Z·(X·W)`.

    **Destination.** `outs(%init)`: one tensor of the result's type, whose
    contents are not read (see *Destination-passing style*).

    **Verifier.** Both operands rank 3 with the same element type; `B` and
    `N` must agree where both are static. The result's dims are static
    when either operand fixes them.
    Each destination must match the type its result gets from the
    operands and attributes ("outs #i has type ..., but the inputs give its
    result the type ..."): same rank and element type, and equal sizes
    where both are static.

    Example:

    ```mlir
    func.func @pool(%z: tensor<2x100x3136xf32>, %x: tensor<2x3136x96xf32>)
        -> tensor<2x100x96xf32> {
      %init = tensor.empty() : tensor<2x100x96xf32>
      %y = clus.pool %z, %x outs(%init)
          : tensor<2x100x3136xf32>, tensor<2x3136x96xf32>
          -> tensor<2x100x96xf32>
      return %y : tensor<2x100x96xf32>
    }

    func.func @pool_dynamic(%z: tensor<?x100x?xf32>, %x: tensor<?x?x96xf32>,
                            %init: tensor<?x100x96xf32>)
        -> tensor<?x100x96xf32> {
      %y = clus.pool %z, %x outs(%init)
          : tensor<?x100x?xf32>, tensor<?x?x96xf32> -> tensor<?x100x96xf32>
      return %y : tensor<?x100x96xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatShapedOfRank<3>:$z,
                       Clus_FloatShapedOfRank<3>:$x,
                       Clus_FloatShapedOfRank<3>:$y_init);
  let results = (outs Optional<Clus_FloatTensorOfRank<3>>:$y);
  let assemblyFormat = [{
    $z `,` $x `outs` `(` $y_init `)` attr-dict `:` type($z) `,` type($x)
    custom<Destinations>(type($y_init), type($y))
  }];
}

//===----------------------------------------------------------------------===//
// kmeans
//===----------------------------------------------------------------------===//

def Clus_KMeansOp : Clus_DpsOp<"kmeans", 2, [AttrSizedResultSegments]> {
  let summary = "Lloyd k-means clustering of tokens";
  let description = [{
    Clusters the tokens of each batch item with Lloyd's k-means (as in
    fast-transformers and the Routing Transformer).

    **Operands.** `x`: float `[B, N, C]`; optional `init`: `[B, M, C]`, the
    initial centroids, of the element type of `x`.

    **Attributes.**
    - `clusters` (required): `M`, in `[1, 2³¹ − 1]`.
    - `iterations` (required): `I`, in `[1, 2³¹ − 1]`.
    - `metric`: `l2` (default) or `cosine`.

    **Results.** `assign`: `[B, N]` i32, each token's cluster in `[0, M)`;
    `centroids`: `[B, M, C]`, the element type of `x`.

    **Semantics**, per batch item:
    - Initial centroids `μ⁰` are `init` when given, else the evenly spaced
      tokens `μ⁰[m] = X[floor(m·N/M)]`, taken as they are.
    - `l2`: `dist(x, μ) = Σ_c (x_c − μ_c)²`. `cosine`: rows are
      L2-normalised as `v̂ = v / max(‖v‖₂, 1e-12)` (the tokens once, the
      centroids before every distance) and `dist(x, μ) = 1 − x̂·μ̂`.
    - Iteration `t = 1, …, I`: every token goes to its nearest centroid,
      `a_t[n] = argmin_m dist(X[n], μ^{t−1}[m])`, ties to the lower `m`;
      then `μ^t[m]` is the mean of the rows assigned to `m` (the normalised
      rows for `cosine`), or `μ^{t−1}[m]` when no row is (an empty cluster
      keeps its centroid).
    - `assign = a_I`, the assignment of the last iteration (made against
      `μ^{I−1}`), and `centroids = μ^I`. Cosine centroids are the means of
      normalised rows, stored without normalising them again.

    **Destinations.** `outs(%assign0, %centroids0)`: one tensor per result,
    of its type; their contents are not read (see *Destination-passing
    style*).

    **Verifier.** `x` rank 3; `init`, when present, `[B, M, C]` with `B` and
    `C` matching `x`, `M` matching `clusters`, and the element type of
    `x`; the attribute ranges above; and `M ≤ N` when `N` is static
    ("requires clusters <= tokens"). With a dynamic `N`, `M ≤ N` is the
    caller's to check: a kernel has no error channel.
    Each destination must match the type its result gets from the
    operands and attributes ("outs #i has type ..., but the inputs give its
    result the type ..."): same rank and element type, and equal sizes
    where both are static.

    Example:

    ```mlir
    func.func @kmeans(%x: tensor<2x196x64xf32>, %mu: tensor<2x49x64xf32>)
        -> (tensor<2x196xi32>, tensor<2x49x64xf32>) {
      %assign0 = tensor.empty() : tensor<2x196xi32>
      %centroids0 = tensor.empty() : tensor<2x49x64xf32>
      %assign, %centroids = clus.kmeans %x clusters = 49 iterations = 10
          outs(%assign0, %centroids0)
          : tensor<2x196x64xf32> -> tensor<2x196xi32>, tensor<2x49x64xf32>
      %a2, %c2 = clus.kmeans %x init(%mu : tensor<2x49x64xf32>) clusters = 49
          iterations = 3 metric = cosine outs(%assign0, %centroids0)
          : tensor<2x196x64xf32> -> tensor<2x196xi32>, tensor<2x49x64xf32>
      return %a2, %c2 : tensor<2x196xi32>, tensor<2x49x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatShapedOfRank<3>:$x,
                       Optional<Clus_FloatShapedOfRank<3>>:$init,
                       I64Attr:$clusters,
                       I64Attr:$iterations,
                       DefaultValuedAttr<Clus_KMeansMetricAttr,
                           "::clusopt::clus::KMeansMetric::l2">:$metric,
                       Clus_IndexShapedOfRank<2>:$assign_init,
                       Clus_FloatShapedOfRank<3>:$centroids_init);
  let results = (outs Optional<Clus_IndexTensorOfRank<2>>:$assign,
                      Optional<Clus_FloatTensorOfRank<3>>:$centroids);
  let assemblyFormat = [{
    $x (`init` `(` $init^ `:` type($init) `)`)?
    `clusters` `=` $clusters `iterations` `=` $iterations
    (`metric` `=` `` $metric^)?
    `outs` `(` $assign_init `,` $centroids_init `)` attr-dict `:` type($x)
    custom<Destinations>(type($assign_init), type($centroids_init),
                        type($assign), type($centroids))
  }];
}

//===----------------------------------------------------------------------===//
// dpc_knn
//===----------------------------------------------------------------------===//

def Clus_DpcKnnOp : Clus_DpsOp<"dpc_knn", 2, [AttrSizedResultSegments], [{
    /// The largest cluster count over all scales: the width of `centers`.
    int64_t getMaxClusters();
  }]> {
  let summary = "ClusTR density-peak clustering with k-nearest-neighbour density";
  let description = [{
    ClusTR's density-peak clustering: picks the tokens of highest density
    peak score as cluster centres, at `S` scales at once, and assigns every
    token to its nearest centre.

    **Operand.** `x`: float `[B, N, C]`.

    **Attributes.**
    - `clusters` (required): `[M_1, …, M_S]`, the cluster count of each
      scale; `S ≥ 1`, each `M_s` in `[1, N]`.
    - `k`: the neighbours of the density estimate, `≥ 1`, default 5.

    **Results.** `assign`: `[B, S, N]` i32, each token's cluster in
    `[0, M_s)` at scale `s`; `centers`: `[B, S, max_s M_s]` i32, the token
    index of each centre, with -1 in the slots `m ≥ M_s`.

    **Semantics**, per batch item:
    - Distances `D[i, j] = ‖x_i − x_j‖₂ / sqrt(C)`.
    - Density `ρ_i = exp(−mean of D[i, j]² over the k' smallest D[i, j])`,
      `k' = min(k, N)`; the row includes the token itself, at distance 0.
    - Token `j` is *denser* than `i` iff `ρ_j > ρ_i`, or `ρ_j = ρ_i` and
      `j < i`: a total order, so exactly one token is densest.
    - `δ_i` is the distance to the nearest denser token,
      `min over denser j of D[i, j]`; the densest token gets the largest
      distance of the item, `δ = max over i, j of D[i, j]`.
    - `score_i = ρ_i · δ_i`.
    - For each scale `s`: `centers[s][0 … M_s)` are the `M_s` tokens of
      largest score in descending score order (ties to the lower index);
      `assign[s][i] = argmin_m D[i, centers[s][m]]` (ties to the lower
      `m`); then every centre is put in its own cluster,
      `assign[s][centers[s][m]] = m`, even where two centres coincide.
    - The result is deterministic: ClusTR's authors add 1e-6 random noise
      to `ρ`, clusopt breaks ties by index instead.

    The optimised lowerings never materialise the `N × N` distance matrix:
    they tile it, keeping a running k-smallest list per row for `ρ` and a
    running minimum for `δ`.

    **Destinations.** `outs(%assign0, %centers0)`: one tensor per result, of
    its type; their contents are not read (see *Destination-passing
    style*).

    **Verifier.** `x` rank 3; `clusters` non-empty with every entry in
    `[1, 2³¹ − 1]` and, when `N` is static, `≤ N`; `k` in
    `[1, 2³¹ − 1]`. With a dynamic `N`, `M_s ≤ N` is the caller's to
    check.
    Each destination must match the type its result gets from the
    operands and attributes ("outs #i has type ..., but the inputs give its
    result the type ..."): same rank and element type, and equal sizes
    where both are static.

    Example:

    ```mlir
    func.func @dpc_knn(%x: tensor<1x3136x64xf32>)
        -> (tensor<1x2x3136xi32>, tensor<1x2x196xi32>) {
      %assign0 = tensor.empty() : tensor<1x2x3136xi32>
      %centers0 = tensor.empty() : tensor<1x2x196xi32>
      %assign, %centers = clus.dpc_knn %x clusters = [49, 196]
          outs(%assign0, %centers0)
          : tensor<1x3136x64xf32> -> tensor<1x2x3136xi32>, tensor<1x2x196xi32>
      return %assign, %centers : tensor<1x2x3136xi32>, tensor<1x2x196xi32>
    }

    func.func @dpc_knn_dynamic(%x: tensor<?x?x64xbf16>,
        %assign0: tensor<?x1x?xi32>, %centers0: tensor<?x1x8xi32>)
        -> (tensor<?x1x?xi32>, tensor<?x1x8xi32>) {
      %a, %c = clus.dpc_knn %x clusters = [8] k = 3 outs(%assign0, %centers0)
          : tensor<?x?x64xbf16> -> tensor<?x1x?xi32>, tensor<?x1x8xi32>
      return %a, %c : tensor<?x1x?xi32>, tensor<?x1x8xi32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatShapedOfRank<3>:$x,
                       DenseI64ArrayAttr:$clusters,
                       DefaultValuedAttr<I64Attr, "5">:$k,
                       Clus_IndexShapedOfRank<3>:$assign_init,
                       Clus_IndexShapedOfRank<3>:$centers_init);
  let results = (outs Optional<Clus_IndexTensorOfRank<3>>:$assign,
                      Optional<Clus_IndexTensorOfRank<3>>:$centers);
  let assemblyFormat = [{
    $x `clusters` `=` $clusters (`k` `=` $k^)?
    `outs` `(` $assign_init `,` $centers_init `)` attr-dict `:` type($x)
    custom<Destinations>(type($assign_init), type($centers_init),
                        type($assign), type($centers))
  }];
}

//===----------------------------------------------------------------------===//
// aggregate
//===----------------------------------------------------------------------===//

def Clus_AggregateOp : Clus_DpsOp<"aggregate", 1> {
  let summary = "Hard segment reduction of tokens into clusters";
  let description = [{
    Reduces tokens into clusters following a hard assignment: ClusTR's
    token merging, or cluster centroids.

    **Operands.** `x`: float `[B, N, C]`; `assign`: `[B, N]` i32, each
    token's cluster; `weights`: `[B, N]`, the element type of `x`, given
    with `reduction = weighted_mean` and only then.

    **Attributes.**
    - `clusters` (required): `M`, in `[1, 2³¹ − 1]`.
    - `reduction`: `sum` (default), `mean` or `weighted_mean`.
    - `eps` (f32): default 1e-6, finite and `≥ 0`; used by
      `weighted_mean` only.

    **Result.** `y`: `[B, M, C]`, the element type of `x`.

    **Semantics.** Cluster `m` holds the tokens `n` with `assign[n] = m`;
    entries of `assign` outside `[0, M)` belong to no cluster and
    contribute nothing (they are never used as an address).
    - `sum`: `Y[m] = Σ_{assign[n]=m} X[n]`.
    - `mean`: that sum divided by `max(count_m, 1)`.
    - `weighted_mean`:
      `Y[m] = Σ_{assign[n]=m} w_n X[n] / (Σ_{assign[n]=m} w_n + eps)`.

    An empty cluster gives a zero row in every reduction (`0 / eps` for
    `weighted_mean`); with `eps = 0`, an empty cluster or weights summing
    to zero give `0 / 0`, NaN.

    **Destination.** `outs(%init)`: one tensor of the result's type, whose
    contents are not read (see *Destination-passing style*).

    **Verifier.** `x` rank 3 and `assign` rank 2 with matching `B` and `N`;
    `weights` required by `weighted_mean` ("requires 'weights'") and
    rejected with any other reduction; `weights` `[B, N]` of `x`'s element
    type; `clusters` and `eps` in range.
    Each destination must match the type its result gets from the
    operands and attributes ("outs #i has type ..., but the inputs give its
    result the type ..."): same rank and element type, and equal sizes
    where both are static.

    Example:

    ```mlir
    func.func @aggregate(%x: tensor<2x3136x64xf32>, %assign: tensor<2x3136xi32>,
                         %w: tensor<2x3136xf32>)
        -> (tensor<2x49x64xf32>, tensor<2x49x64xf32>) {
      %init = tensor.empty() : tensor<2x49x64xf32>
      %y = clus.aggregate %x, %assign clusters = 49 reduction = mean
          outs(%init) : tensor<2x3136x64xf32>, tensor<2x3136xi32>
          -> tensor<2x49x64xf32>
      %m = clus.aggregate %x, %assign weights(%w : tensor<2x3136xf32>)
          clusters = 49 reduction = weighted_mean eps = 1.0e-05 outs(%init)
          : tensor<2x3136x64xf32>, tensor<2x3136xi32> -> tensor<2x49x64xf32>
      return %y, %m : tensor<2x49x64xf32>, tensor<2x49x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatShapedOfRank<3>:$x,
                       Clus_IndexShapedOfRank<2>:$assign,
                       Optional<Clus_FloatShapedOfRank<2>>:$weights,
                       I64Attr:$clusters,
                       DefaultValuedAttr<Clus_ReductionAttr,
                           "::clusopt::clus::Reduction::sum">:$reduction,
                       DefaultValuedAttr<F32Attr, "1.0e-6">:$eps,
                       Clus_FloatShapedOfRank<3>:$y_init);
  let results = (outs Optional<Clus_FloatTensorOfRank<3>>:$y);
  let assemblyFormat = [{
    $x `,` $assign (`weights` `(` $weights^ `:` type($weights) `)`)?
    `clusters` `=` $clusters (`reduction` `=` `` $reduction^)?
    (`eps` `=` $eps^)? `outs` `(` $y_init `)` attr-dict
    `:` type($x) `,` type($assign)
    custom<Destinations>(type($y_init), type($y))
  }];
}

//===----------------------------------------------------------------------===//
// broadcast
//===----------------------------------------------------------------------===//

def Clus_BroadcastOp : Clus_DpsOp<"broadcast", 1> {
  let summary = "Scatter cluster rows back to their tokens";
  let description = [{
    Gives every token the row of its cluster: the way back from
    `clus.aggregate`.

    **Operands.** `y`: float `[B, M, C]`, one row per cluster; `assign`:
    `[B, N]` i32, each token's cluster.

    **Result.** `x`: `[B, N, C]`, the element type of `y`.

    **Semantics.** `X[n] = Y[assign[n]]` where `0 ≤ assign[n] < M`, and a
    zero row where `assign[n]` is outside `[0, M)` (never an out-of-bounds
    read).

    **Destination.** `outs(%init)`: one tensor of the result's type, whose
    contents are not read (see *Destination-passing style*).

    **Verifier.** `y` rank 3 and `assign` rank 2 with matching `B`.
    Each destination must match the type its result gets from the
    operands and attributes ("outs #i has type ..., but the inputs give its
    result the type ..."): same rank and element type, and equal sizes
    where both are static.

    Example:

    ```mlir
    func.func @broadcast(%y: tensor<2x49x64xf32>, %assign: tensor<2x3136xi32>)
        -> tensor<2x3136x64xf32> {
      %init = tensor.empty() : tensor<2x3136x64xf32>
      %x = clus.broadcast %y, %assign outs(%init)
          : tensor<2x49x64xf32>, tensor<2x3136xi32> -> tensor<2x3136x64xf32>
      return %x : tensor<2x3136x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatShapedOfRank<3>:$y,
                       Clus_IndexShapedOfRank<2>:$assign,
                       Clus_FloatShapedOfRank<3>:$x_init);
  let results = (outs Optional<Clus_FloatTensorOfRank<3>>:$x);
  let assemblyFormat = [{
    $y `,` $assign `outs` `(` $x_init `)` attr-dict `:` type($y) `,`
    type($assign) custom<Destinations>(type($x_init), type($x))
  }];
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

def Clus_AttentionOp : Clus_DpsOp<"attention", 1,
    [SameVariadicOperandSize]> {
  let summary = "Attention of queries against one or more sets of clusters";
  let description = [{
    Attends queries to one or more sets of keys and values, typically the
    clusters of the tokens.

    **Operands.** `q`: float `[B, H, N, D]`, then `S ≥ 1` pairs, written
    `[key, value]`: `K_s [B, H, M_s, D]` and `V_s [B, H, M_s, Dv]`, all of
    `q`'s element type. `M_s` may differ between scales; `D` and `Dv` may
    differ from each other.

    **Attribute.** `scale` (f32, optional, finite): the factor of the
    scores; absent, it is `1/sqrt(D)`, with `D` read at run time when
    dynamic.

    **Result.** `o`: `[B, H, N, Dv]`, `q`'s element type.

    **Semantics.** For every batch item and head,
    `O[n] = Σ_s Σ_m softmax_m(scale · Q[n]·K_s[m]) · V_s[m]`. Each scale has its own softmax and the per-scale outputs are summed
    (ClusTR multi-scale attention), not one softmax over all keys. `S = 1`
    is PaCa attention (queries are tokens, keys and values the clusters),
    or clusters attending to tokens with the roles swapped. A scale with
    `M_s = 0` has an empty softmax and no defined result.

    The optimised lowerings fuse `Q·Kᵀ`, the softmax and `·V` per block of
    queries (flash-style online softmax): no `[N, M_s]` score matrix is
    written to memory.

    **Destination.** `outs(%init)`: one tensor of the result's type, whose
    contents are not read (see *Destination-passing style*).

    **Verifier.** An odd number of operands, at least 3 ("expects the query
    followed by one or more [key, value] pairs"); every operand rank 4 with
    `q`'s element type; `B`, `H`, `D`, `Dv` and each `M_s` consistent
    where static; `scale` finite.
    Each destination must match the type its result gets from the
    operands and attributes ("outs #i has type ..., but the inputs give its
    result the type ..."): same rank and element type, and equal sizes
    where both are static.

    Example:

    ```mlir
    func.func @attention(%q: tensor<1x2x3136x48xf32>,
        %k: tensor<1x2x100x48xf32>, %v: tensor<1x2x100x32xf32>)
        -> tensor<1x2x3136x32xf32> {
      %init = tensor.empty() : tensor<1x2x3136x32xf32>
      %o = clus.attention %q, [%k, %v] outs(%init) : tensor<1x2x3136x48xf32>,
          [tensor<1x2x100x48xf32>, tensor<1x2x100x32xf32>]
          -> tensor<1x2x3136x32xf32>
      return %o : tensor<1x2x3136x32xf32>
    }

    func.func @attention_two_scales(%q: tensor<1x1x3136x64xf32>,
        %k1: tensor<1x1x49x64xf32>, %v1: tensor<1x1x49x64xf32>,
        %k2: tensor<1x1x196x64xf32>, %v2: tensor<1x1x196x64xf32>,
        %init: tensor<1x1x3136x64xf32>) -> tensor<1x1x3136x64xf32> {
      %o = clus.attention %q, [%k1, %v1], [%k2, %v2] scale = 1.250000e-01
          outs(%init)
          : tensor<1x1x3136x64xf32>,
            [tensor<1x1x49x64xf32>, tensor<1x1x49x64xf32>],
            [tensor<1x1x196x64xf32>, tensor<1x1x196x64xf32>]
          -> tensor<1x1x3136x64xf32>
      return %o : tensor<1x1x3136x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatShapedOfRank<4>:$q,
                       Variadic<Clus_FloatShapedOfRank<4>>:$keys,
                       Variadic<Clus_FloatShapedOfRank<4>>:$values,
                       OptionalAttr<F32Attr>:$scale,
                       Clus_FloatShapedOfRank<4>:$o_init);
  let results = (outs Optional<Clus_FloatTensorOfRank<4>>:$o);
  let assemblyFormat = [{
    $q `,` custom<KeyValuePairs>($keys, $values) (`scale` `=` $scale^)?
    `outs` `(` $o_init `)` attr-dict `:` type($q) `,`
    custom<KeyValuePairTypes>(type($keys), type($values))
    custom<Destinations>(type($o_init), type($o))
  }];
}

//===----------------------------------------------------------------------===//
// topk_members
//===----------------------------------------------------------------------===//

def Clus_TopKMembersOp : Clus_DpsOp<"topk_members", 1> {
  let summary = "CAST Top-K and SA-Top-K cluster membership";
  let description = [{
    CAST's cluster membership: picks up to `κ` member tokens per cluster
    from token-to-cluster affinities.

    **Operand.** `g`: float `[B, N, M]`, the affinity of token `n` to
    cluster `m`.

    **Attributes.**
    - `capacity` (required): `κ`, in `[1, 2³¹ − 1]`; it may exceed `N`.
    - `exclusive` (unit): absent (default) for Top-K, present for
      SA-Top-K.

    **Result.** `members`: `[B, M, κ]` i32, token indices in slot order;
    -1 marks an empty slot, and empty slots come after the full ones.

    **Semantics.**
    - Top-K (not `exclusive`): `members[m]` lists the `min(κ, N)` tokens of
      largest `G[n, m]`, by descending affinity (ties to the lower `n`). A
      token may be in several clusters, or in none.
    - SA-Top-K (`exclusive`): each token first goes to its best cluster,
      `argmax_m G[n, m]` (ties to the lower `m`); cluster `m` then keeps up
      to `κ` of its own tokens, by descending `G[n, m]` (ties to the lower
      `n`). The remaining slots are -1, and tokens beyond a cluster's
      capacity are in no cluster.

    **Destination.** `outs(%init)`: one tensor of the result's type, whose
    contents are not read (see *Destination-passing style*).

    **Verifier.** `g` rank 3; `capacity` in range.
    Each destination must match the type its result gets from the
    operands and attributes ("outs #i has type ..., but the inputs give its
    result the type ..."): same rank and element type, and equal sizes
    where both are static.

    Example:

    ```mlir
    func.func @topk_members(%g: tensor<?x196x14xf16>,
                            %init: tensor<?x14x28xi32>)
        -> (tensor<?x14x28xi32>, tensor<?x14x28xi32>) {
      %members = clus.topk_members %g capacity = 28 outs(%init)
          : tensor<?x196x14xf16> -> tensor<?x14x28xi32>
      %sa = clus.topk_members %g capacity = 28 exclusive outs(%init)
          : tensor<?x196x14xf16> -> tensor<?x14x28xi32>
      return %members, %sa : tensor<?x14x28xi32>, tensor<?x14x28xi32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatShapedOfRank<3>:$g,
                       I64Attr:$capacity,
                       UnitAttr:$exclusive,
                       Clus_IndexShapedOfRank<3>:$members_init);
  let results = (outs Optional<Clus_IndexTensorOfRank<3>>:$members);
  let assemblyFormat = [{
    $g `capacity` `=` $capacity (`exclusive` $exclusive^)?
    `outs` `(` $members_init `)` attr-dict `:` type($g)
    custom<Destinations>(type($members_init), type($members))
  }];
}

//===----------------------------------------------------------------------===//
// cluster_attention
//===----------------------------------------------------------------------===//

def Clus_ClusterAttentionOp : Clus_DpsOp<"cluster_attention", 1> {
  let summary = "CAST-style intra-cluster attention with cluster summaries";
  let description = [{
    Attention within clusters, with a summary of every other cluster:
    clusopt's definition of CAST-style attention (the CAST paper's exact
    formula is not public, so this op defines its own).

    **Operands.** All floats share `q`'s element type.
    - `q`, `k`: `[B, H, N, D]`; `v`: `[B, H, N, Dv]`.
    - `members`: `[B, M, κ]` i32, the tokens of each cluster (as
      `clus.topk_members` makes them), shared by all heads. A slot outside
      `[0, N)`, such as -1, is empty and ignored everywhere.
    - `aq`, `ak`: `[B, H, N, M]`, the query→surrogate and key→surrogate
      affinities, e.g. `Q·Sᵀ` and `K·Sᵀ` with learned surrogate tokens
      `S [H, M, D]`.

    **Attributes.**
    - `scale` (f32, optional, finite): the factor of the intra-cluster
      scores; absent, `1/sqrt(D)`.
    - `summaries` (bool): default `true`.

    **Result.** `o`: `[B, H, N, Dv]`.

    **Semantics**, per batch item and head:
    - Summaries: `R[m] = Σ_n softmax_n(Ak[n, m]) · V[n]`, a softmax over
      all `N` tokens.
    - For cluster `m` with valid member tokens `u_1, …, u_J` (in slot
      order) and each of its valid slots, holding token `t`: the intra
      scores are `s_j = scale · Q[t]·K[u_j]`, and with summaries the inter
      scores are `r_m' = Aq[t, m']` for every other cluster `m' ≠ m`. One
      softmax runs over both sets (stably, with the maximum subtracted):
      `o_m(t) = (Σ_j e^{s_j} V[u_j] + Σ_{m'≠m} e^{r_m'} R[m']) /
                (Σ_j e^{s_j} + Σ_{m'≠m} e^{r_m'})`.
      Without summaries the inter terms are left out.
    - `O[t]` is the mean of `o_m(t)` over every valid slot that holds `t`.
      A token listed twice in one cluster counts twice, both as a key
      `u_j` and in the mean.
    - A token in no valid slot gets `O[t] = Σ_m softmax_m(Aq[t, :]) · R[m]`
      with summaries, and 0 without.

    `summaries = false` is Routing-Transformer-style intra-cluster
    attention with a scatter-mean back to the tokens.

    **Destination.** `outs(%init)`: one tensor of the result's type, whose
    contents are not read (see *Destination-passing style*).

    **Verifier.** Ranks and dims as above (`B`, `H`, `N`, `D`, `Dv`, `M`
    consistent where static; `members`' `M` must match the affinities'),
    one element type for every float operand, `scale` finite.
    Each destination must match the type its result gets from the
    operands and attributes ("outs #i has type ..., but the inputs give its
    result the type ..."): same rank and element type, and equal sizes
    where both are static.

    Example:

    ```mlir
    func.func @cluster_attention(%q: tensor<1x3x196x64xf32>,
        %k: tensor<1x3x196x64xf32>, %v: tensor<1x3x196x64xf32>,
        %members: tensor<1x14x28xi32>, %aq: tensor<1x3x196x14xf32>,
        %ak: tensor<1x3x196x14xf32>)
        -> (tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>) {
      %init = tensor.empty() : tensor<1x3x196x64xf32>
      %o = clus.cluster_attention %q, %k, %v members(%members)
          affinities(%aq, %ak) outs(%init)
          : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>,
            tensor<1x3x196x64xf32>, tensor<1x14x28xi32>,
            tensor<1x3x196x14xf32>, tensor<1x3x196x14xf32>
          -> tensor<1x3x196x64xf32>
      %r = clus.cluster_attention %q, %k, %v members(%members)
          affinities(%aq, %ak) scale = 1.250000e-01 summaries = false
          outs(%init)
          : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>,
            tensor<1x3x196x64xf32>, tensor<1x14x28xi32>,
            tensor<1x3x196x14xf32>, tensor<1x3x196x14xf32>
          -> tensor<1x3x196x64xf32>
      return %o, %r : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatShapedOfRank<4>:$q,
                       Clus_FloatShapedOfRank<4>:$k,
                       Clus_FloatShapedOfRank<4>:$v,
                       Clus_IndexShapedOfRank<3>:$members,
                       Clus_FloatShapedOfRank<4>:$aq,
                       Clus_FloatShapedOfRank<4>:$ak,
                       OptionalAttr<F32Attr>:$scale,
                       DefaultValuedAttr<BoolAttr, "true">:$summaries,
                       Clus_FloatShapedOfRank<4>:$o_init);
  let results = (outs Optional<Clus_FloatTensorOfRank<4>>:$o);
  let assemblyFormat = [{
    $q `,` $k `,` $v `members` `(` $members `)`
    `affinities` `(` $aq `,` $ak `)`
    (`scale` `=` $scale^)? (`summaries` `=` $summaries^)?
    `outs` `(` $o_init `)` attr-dict
    `:` type($q) `,` type($k) `,` type($v) `,` type($members) `,`
        type($aq) `,` type($ak)
    custom<Destinations>(type($o_init), type($o))
  }];
}

#endif // CLUSOPT_DIALECT_CLUS_CLUSOPS_TD

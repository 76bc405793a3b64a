//===- ClusOps.td - clus dialect ops ---------------------------*- tablegen -*-===//
//
// The nine ops of SPEC §2. Each op documents its semantics, which are
// normative; the reference lowering (convert-clus-to-linalg) implements them
// formula by formula.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_DIALECT_CLUS_CLUSOPS_TD
#define CLUSOPT_DIALECT_CLUS_CLUSOPS_TD

include "dialect/Clus/ClusBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Clus_Op<string mnemonic, list<Trait> traits = []>
    : Op<Clus_Dialect, mnemonic, traits>;

// Ops whose result types follow from their operands and attributes.
class Clus_InferredOp<string mnemonic, list<Trait> traits = []>
    : Clus_Op<mnemonic, !listconcat(traits,
          [Pure, InferTypeOpAdaptor])>;

//===----------------------------------------------------------------------===//
// soft_assign
//===----------------------------------------------------------------------===//

def Clus_SoftAssignOp : Clus_Op<"soft_assign",
    [Pure, SameOperandsAndResultType]> {
  let summary = "PaCa soft clustering: softmax of cluster logits";
  let description = [{
    Turns cluster logits `[B, M, N]` into soft assignments of the same shape.

    - `axis = tokens` (the default, PaCa): each cluster is a distribution
      over tokens, `Z[b,m,:] = softmax_n(logits[b,m,:])`.
    - `axis = clusters`: each token is a distribution over clusters,
      `Z[b,:,n] = softmax_m(logits[b,:,n])`.

    The softmax subtracts the maximum and accumulates in `f32`.

    Example:

    ```mlir
    func.func @soft_assign(%logits: tensor<2x100x?xf16>)
        -> (tensor<2x100x?xf16>, tensor<2x100x?xf16>) {
      %z = clus.soft_assign %logits : tensor<2x100x?xf16>
      %w = clus.soft_assign %logits axis = clusters : tensor<2x100x?xf16>
      return %z, %w : tensor<2x100x?xf16>, tensor<2x100x?xf16>
    }
    ```
  }];
  let arguments = (ins Clus_FloatTensorOfRank<3>:$logits,
      DefaultValuedAttr<Clus_SoftAssignAxisAttr,
                        "::clusopt::clus::SoftAssignAxis::tokens">:$axis);
  let results = (outs Clus_FloatTensorOfRank<3>:$z);
  let assemblyFormat = [{
    $logits (`axis` `=` `` $axis^)? attr-dict `:` type($logits)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// pool
//===----------------------------------------------------------------------===//

def Clus_PoolOp : Clus_InferredOp<"pool"> {
  let summary = "Soft aggregation of tokens into clusters";
  let description = [{
    Pools tokens `X [B, N, C]` into clusters with soft assignments
    `Z [B, M, N]`: `Y [B, M, C] = Z · X`, accumulated in `f32`.

    A `soft_assign` with `axis = tokens` feeding a `pool` is the PaCa
    clustering step; optimised lowerings fuse the two into one pass of
    online-softmax weighted pooling.

    Example:

    ```mlir
    func.func @pool(%z: tensor<2x100x3136xf32>, %x: tensor<2x3136x96xf32>)
        -> tensor<2x100x96xf32> {
      %y = clus.pool %z, %x : tensor<2x100x3136xf32>, tensor<2x3136x96xf32>
      return %y : tensor<2x100x96xf32>
    }

    func.func @pool_dynamic(%z: tensor<?x100x?xf32>, %x: tensor<?x?x96xf32>)
        -> tensor<?x100x96xf32> {
      %y = clus.pool %z, %x : tensor<?x100x?xf32>, tensor<?x?x96xf32>
      return %y : tensor<?x100x96xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatTensorOfRank<3>:$z,
                       Clus_FloatTensorOfRank<3>:$x);
  let results = (outs Clus_FloatTensorOfRank<3>:$y);
  let assemblyFormat = [{
    $z `,` $x attr-dict `:` type($z) `,` type($x)
  }];
}

//===----------------------------------------------------------------------===//
// kmeans
//===----------------------------------------------------------------------===//

def Clus_KMeansOp : Clus_InferredOp<"kmeans"> {
  let summary = "Lloyd k-means clustering of tokens";
  let description = [{
    Clusters tokens `X [B, N, C]` into `M = clusters` groups with
    `iterations` rounds of Lloyd's algorithm. Results are the assignment
    `assign [B, N]` (i32) computed in the last iteration and the centroids
    `centroids [B, M, C]` after it.

    - Initial centroids are `init [B, M, C]` when given, otherwise
      `μ⁰[m] = X[floor(m·N/M)]`.
    - Each iteration assigns every token to its nearest centroid (ties go to
      the lower cluster), then moves every centroid to the mean of its
      tokens; a cluster without tokens keeps its centroid.
    - `metric = l2` (default) uses the squared Euclidean distance.
      `metric = cosine` L2-normalises token and centroid rows (eps 1e-12)
      before every distance and uses `1 - x̂·μ̂`; centroids average the
      normalised rows.

    `M ≤ N` is required: the verifier rejects static shapes that break it,
    the runtime reports an error for dynamic ones.

    Example:

    ```mlir
    func.func @kmeans(%x: tensor<2x196x64xf32>, %mu: tensor<2x49x64xf32>)
        -> (tensor<2x196xi32>, tensor<2x49x64xf32>) {
      %assign, %centroids = clus.kmeans %x clusters = 49 iterations = 10
          : tensor<2x196x64xf32>
      %a2, %c2 = clus.kmeans %x init(%mu : tensor<2x49x64xf32>) clusters = 49
          iterations = 3 metric = cosine : tensor<2x196x64xf32>
      return %a2, %c2 : tensor<2x196xi32>, tensor<2x49x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatTensorOfRank<3>:$x,
                       Optional<Clus_FloatTensorOfRank<3>>:$init,
                       I64Attr:$clusters,
                       I64Attr:$iterations,
                       DefaultValuedAttr<Clus_KMeansMetricAttr,
                           "::clusopt::clus::KMeansMetric::l2">:$metric);
  let results = (outs Clus_IndexTensorOfRank<2>:$assign,
                      Clus_FloatTensorOfRank<3>:$centroids);
  let assemblyFormat = [{
    $x (`init` `(` $init^ `:` type($init) `)`)?
    `clusters` `=` $clusters `iterations` `=` $iterations
    (`metric` `=` `` $metric^)? attr-dict `:` type($x)
  }];
}

//===----------------------------------------------------------------------===//
// dpc_knn
//===----------------------------------------------------------------------===//

def Clus_DpcKnnOp : Clus_InferredOp<"dpc_knn"> {
  let summary = "ClusTR density-peak clustering with k-nearest-neighbour density";
  let description = [{
    Clusters tokens `X [B, N, C]` at `S` scales with the cluster counts
    `clusters = [M_1, …, M_S]`. Results are `assign [B, S, N]` and
    `centers [B, S, max M]`, both i32; unused centre slots are -1.

    Per batch item, with `D[i,j] = ‖x_i − x_j‖₂ / sqrt(C)`:

    - `ρ_i = exp(−mean of D[i,·]² over the k smallest D[i,·])`, the token
      itself included (distance 0); with `N < k` the `N` smallest.
    - Token `j` is denser than `i` iff `ρ_j > ρ_i`, or `ρ_j == ρ_i` and
      `j < i`. `δ_i` is the distance to the nearest denser token; the
      densest token gets `δ = max D`.
    - `score_i = ρ_i · δ_i`; `centers[s]` holds the `M_s` tokens of largest
      score in descending order (ties to the lower index).
    - `assign[s][i]` is the nearest centre, and every centre is forced
      into its own cluster.

    Each `M_s` must be in `[1, N]`; `k ≥ 1` (default 5).

    Example:

    ```mlir
    func.func @dpc_knn(%x: tensor<1x3136x64xf32>)
        -> (tensor<1x2x3136xi32>, tensor<1x2x196xi32>) {
      %assign, %centers = clus.dpc_knn %x clusters = [49, 196]
          : tensor<1x3136x64xf32>
      return %assign, %centers : tensor<1x2x3136xi32>, tensor<1x2x196xi32>
    }

    func.func @dpc_knn_dynamic(%x: tensor<?x?x64xbf16>)
        -> (tensor<?x1x?xi32>, tensor<?x1x8xi32>) {
      %a, %c = clus.dpc_knn %x clusters = [8] k = 3 : tensor<?x?x64xbf16>
      return %a, %c : tensor<?x1x?xi32>, tensor<?x1x8xi32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatTensorOfRank<3>:$x,
                       DenseI64ArrayAttr:$clusters,
                       DefaultValuedAttr<I64Attr, "5">:$k);
  let results = (outs Clus_IndexTensorOfRank<3>:$assign,
                      Clus_IndexTensorOfRank<3>:$centers);
  let assemblyFormat = [{
    $x `clusters` `=` $clusters (`k` `=` $k^)? attr-dict `:` type($x)
  }];
  let extraClassDeclaration = [{
    /// The largest cluster count over all scales: the width of `centers`.
    int64_t getMaxClusters();
  }];
}

//===----------------------------------------------------------------------===//
// aggregate
//===----------------------------------------------------------------------===//

def Clus_AggregateOp : Clus_InferredOp<"aggregate"> {
  let summary = "Hard segment reduction of tokens into clusters";
  let description = [{
    Reduces tokens `X [B, N, C]` into `M = clusters` rows `Y [B, M, C]`
    following the hard assignment `assign [B, N]` (i32):

    - `sum` (default): `Y[m] = Σ_{assign[n]=m} X[n]`;
    - `mean`: the sum divided by `max(count_m, 1)`;
    - `weighted_mean` (ClusTR token merging), which requires
      `weights [B, N]`:
      `Y[m] = Σ_{assign[n]=m} w_n X[n] / (Σ_{assign[n]=m} w_n + eps)`.

    Entries of `assign` outside `[0, M)` contribute nothing; they never
    cause an out-of-bounds access. `eps` (default 1e-6) must be ≥ 0.

    Example:

    ```mlir
    func.func @aggregate(%x: tensor<2x3136x64xf32>, %assign: tensor<2x3136xi32>,
                         %w: tensor<2x3136xf32>)
        -> (tensor<2x49x64xf32>, tensor<2x49x64xf32>) {
      %y = clus.aggregate %x, %assign clusters = 49 reduction = mean
          : tensor<2x3136x64xf32>, tensor<2x3136xi32>
      %m = clus.aggregate %x, %assign weights(%w : tensor<2x3136xf32>)
          clusters = 49 reduction = weighted_mean eps = 1.0e-05
          : tensor<2x3136x64xf32>, tensor<2x3136xi32>
      return %y, %m : tensor<2x49x64xf32>, tensor<2x49x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatTensorOfRank<3>:$x,
                       Clus_IndexTensorOfRank<2>:$assign,
                       Optional<Clus_FloatTensorOfRank<2>>:$weights,
                       I64Attr:$clusters,
                       DefaultValuedAttr<Clus_ReductionAttr,
                           "::clusopt::clus::Reduction::sum">:$reduction,
                       DefaultValuedAttr<F32Attr, "1.0e-6">:$eps);
  let results = (outs Clus_FloatTensorOfRank<3>:$y);
  let assemblyFormat = [{
    $x `,` $assign (`weights` `(` $weights^ `:` type($weights) `)`)?
    `clusters` `=` $clusters (`reduction` `=` `` $reduction^)?
    (`eps` `=` $eps^)? attr-dict `:` type($x) `,` type($assign)
  }];
}

//===----------------------------------------------------------------------===//
// broadcast
//===----------------------------------------------------------------------===//

def Clus_BroadcastOp : Clus_InferredOp<"broadcast"> {
  let summary = "Scatter cluster rows back to their tokens";
  let description = [{
    Gives every token the row of its cluster: with `Y [B, M, C]` and
    `assign [B, N]` (i32), `X [B, N, C]` has `X[n] = Y[assign[n]]`, and a
    zero row where `assign[n]` is outside `[0, M)`.

    Example:

    ```mlir
    func.func @broadcast(%y: tensor<2x49x64xf32>, %assign: tensor<2x3136xi32>)
        -> tensor<2x3136x64xf32> {
      %x = clus.broadcast %y, %assign : tensor<2x49x64xf32>, tensor<2x3136xi32>
      return %x : tensor<2x3136x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatTensorOfRank<3>:$y,
                       Clus_IndexTensorOfRank<2>:$assign);
  let results = (outs Clus_FloatTensorOfRank<3>:$x);
  let assemblyFormat = [{
    $y `,` $assign attr-dict `:` type($y) `,` type($assign)
  }];
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

def Clus_AttentionOp : Clus_InferredOp<"attention",
    [SameVariadicOperandSize]> {
  let summary = "Attention of queries against one or more sets of clusters";
  let description = [{
    Attends queries `Q [B, H, N, D]` to `S ≥ 1` key/value pairs
    `(K_s [B, H, M_s, D], V_s [B, H, M_s, Dv])`:

    `O [B, H, N, Dv] = Σ_s softmax_m(scale · Q·K_sᵀ) · V_s`

    Each scale has its own softmax and the per-scale outputs are summed
    (ClusTR multi-scale attention); `S = 1` is PaCa attention. `scale`
    defaults to `1/sqrt(D)`. Pairs are written `[key, value]`.

    Example:

    ```mlir
    func.func @attention(%q: tensor<1x2x3136x48xf32>,
        %k: tensor<1x2x100x48xf32>, %v: tensor<1x2x100x32xf32>)
        -> tensor<1x2x3136x32xf32> {
      %o = clus.attention %q, [%k, %v] : tensor<1x2x3136x48xf32>,
          [tensor<1x2x100x48xf32>, tensor<1x2x100x32xf32>]
      return %o : tensor<1x2x3136x32xf32>
    }

    func.func @attention_two_scales(%q: tensor<1x1x3136x64xf32>,
        %k1: tensor<1x1x49x64xf32>, %v1: tensor<1x1x49x64xf32>,
        %k2: tensor<1x1x196x64xf32>, %v2: tensor<1x1x196x64xf32>)
        -> tensor<1x1x3136x64xf32> {
      %o = clus.attention %q, [%k1, %v1], [%k2, %v2] scale = 1.250000e-01
          : tensor<1x1x3136x64xf32>,
            [tensor<1x1x49x64xf32>, tensor<1x1x49x64xf32>],
            [tensor<1x1x196x64xf32>, tensor<1x1x196x64xf32>]
      return %o : tensor<1x1x3136x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatTensorOfRank<4>:$q,
                       Variadic<Clus_FloatTensorOfRank<4>>:$keys,
                       Variadic<Clus_FloatTensorOfRank<4>>:$values,
                       OptionalAttr<F32Attr>:$scale);
  let results = (outs Clus_FloatTensorOfRank<4>:$o);
  let assemblyFormat = [{
    $q `,` custom<KeyValuePairs>($keys, $values) (`scale` `=` $scale^)?
    attr-dict `:` type($q) `,` custom<KeyValuePairTypes>(type($keys), type($values))
  }];
}

//===----------------------------------------------------------------------===//
// topk_members
//===----------------------------------------------------------------------===//

def Clus_TopKMembersOp : Clus_InferredOp<"topk_members"> {
  let summary = "CAST Top-K and SA-Top-K cluster membership";
  let description = [{
    Picks up to `capacity = κ` member tokens per cluster from the affinity
    `G [B, N, M]`. The result `members [B, M, κ]` (i32) lists token indices
    by descending affinity (ties to the lower index); empty slots are -1.

    - Without `exclusive` (Top-K), `members[m]` holds the κ tokens of
      largest `G[n, m]`; a token may be in several clusters or in none.
    - With `exclusive` (SA-Top-K), each token first goes to
      `argmax_m G[n, m]`; a cluster keeps up to κ of its own tokens and the
      others are in no cluster.

    Example:

    ```mlir
    func.func @topk_members(%g: tensor<?x196x14xf16>)
        -> (tensor<?x14x28xi32>, tensor<?x14x28xi32>) {
      %members = clus.topk_members %g capacity = 28 : tensor<?x196x14xf16>
      %sa = clus.topk_members %g capacity = 28 exclusive : tensor<?x196x14xf16>
      return %members, %sa : tensor<?x14x28xi32>, tensor<?x14x28xi32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatTensorOfRank<3>:$g,
                       I64Attr:$capacity,
                       UnitAttr:$exclusive);
  let results = (outs Clus_IndexTensorOfRank<3>:$members);
  let assemblyFormat = [{
    $g `capacity` `=` $capacity (`exclusive` $exclusive^)? attr-dict
    `:` type($g)
  }];
}

//===----------------------------------------------------------------------===//
// cluster_attention
//===----------------------------------------------------------------------===//

def Clus_ClusterAttentionOp : Clus_InferredOp<"cluster_attention"> {
  let summary = "CAST-style intra-cluster attention with cluster summaries";
  let description = [{
    clusopt's definition of CAST-style attention (the paper's exact formula
    is not public). Inputs are `Q, K [B, H, N, D]`, `V [B, H, N, Dv]`,
    cluster `members [B, M, κ]` (i32, -1 for an empty slot) and the
    query→surrogate and key→surrogate affinities `Aq, Ak [B, H, N, M]`.
    The result is `O [B, H, N, Dv]`.

    - Summaries: `R[m] = Σ_n softmax_n(Ak[n, m]) · V[n]`.
    - For cluster `m` and member `t`, with intra scores
      `s_j = scale · Q[t]·K[u_j]` over the members `u_j` of `m` and, with
      summaries, inter scores `r_m' = Aq[t, m']` for `m' ≠ m`:
      `o_m(t) = (Σ_j e^{s_j} V[u_j] + Σ_m' e^{r_m'} R[m']) /
                (Σ_j e^{s_j} + Σ_m' e^{r_m'})`, computed stably.
    - `O[t]` is the mean of `o_m(t)` over the member slots holding `t`. A
      token in no cluster gets `Σ_m softmax_m(Aq[t, :]) R[m]` with
      summaries and 0 without.

    `scale` defaults to `1/sqrt(D)`; `summaries = false` gives
    Routing-Transformer-style intra-cluster attention with scatter-mean.

    Example:

    ```mlir
    func.func @cluster_attention(%q: tensor<1x3x196x64xf32>,
        %k: tensor<1x3x196x64xf32>, %v: tensor<1x3x196x64xf32>,
        %members: tensor<1x14x28xi32>, %aq: tensor<1x3x196x14xf32>,
        %ak: tensor<1x3x196x14xf32>)
        -> (tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>) {
      %o = clus.cluster_attention %q, %k, %v members(%members)
          affinities(%aq, %ak)
          : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>,
            tensor<1x3x196x64xf32>, tensor<1x14x28xi32>,
            tensor<1x3x196x14xf32>, tensor<1x3x196x14xf32>
      %r = clus.cluster_attention %q, %k, %v members(%members)
          affinities(%aq, %ak) scale = 1.250000e-01 summaries = false
          : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>,
            tensor<1x3x196x64xf32>, tensor<1x14x28xi32>,
            tensor<1x3x196x14xf32>, tensor<1x3x196x14xf32>
      return %o, %r : tensor<1x3x196x64xf32>, tensor<1x3x196x64xf32>
    }
    ```
  }];
  let arguments = (ins Clus_FloatTensorOfRank<4>:$q,
                       Clus_FloatTensorOfRank<4>:$k,
                       Clus_FloatTensorOfRank<4>:$v,
                       Clus_IndexTensorOfRank<3>:$members,
                       Clus_FloatTensorOfRank<4>:$aq,
                       Clus_FloatTensorOfRank<4>:$ak,
                       OptionalAttr<F32Attr>:$scale,
                       DefaultValuedAttr<BoolAttr, "true">:$summaries);
  let results = (outs Clus_FloatTensorOfRank<4>:$o);
  let assemblyFormat = [{
    $q `,` $k `,` $v `members` `(` $members `)`
    `affinities` `(` $aq `,` $ak `)`
    (`scale` `=` $scale^)? (`summaries` `=` $summaries^)? attr-dict
    `:` type($q) `,` type($k) `,` type($v) `,` type($members) `,`
        type($aq) `,` type($ak)
  }];
}

#endif // CLUSOPT_DIALECT_CLUS_CLUSOPS_TD

// The clus parts of a PaCa-ViT block (MODELS.md §1), compiled at build time
// by clusopt-compile into paca_kernels.so for the runtime's PacaVit model.
// Every dim is dynamic: batch, tokens, channels, clusters and heads vary by
// stage, model size and resolution.

// Ctok before cluster_norm: softmax over the tokens of the clustering
// logits L [B, M, N], then Z · X with X [B, N, C] -> [B, M, C]. Blocks after
// the first pass the stage's stored logits again: recomputing the softmax
// costs one pass over [B, M, N], and the kernel fuses it into the pool.
func.func @assign_pool(%logits: tensor<?x?x?xf32>, %x: tensor<?x?x?xf32>)
    -> tensor<?x?x?xf32> {
  %z = clus.soft_assign %logits : tensor<?x?x?xf32>
  %c = clus.pool %z, %x : tensor<?x?x?xf32>, tensor<?x?x?xf32>
  return %c : tensor<?x?x?xf32>
}

// softmax(Q Kᵀ / sqrt(D)) V with Q [B, H, N, D] and K, V [B, H, M, D]; in
// stage 4 (no clusters) K and V come from the tokens themselves.
func.func @attention(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>,
                     %v: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o = clus.attention %q, [%k, %v]
      : tensor<?x?x?x?xf32>, [tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>]
  return %o : tensor<?x?x?x?xf32>
}

// The two clus kernels of a PaCa-ViT block, at paca_tiny's stage 1 for a
// 224 x 224 image: 56 x 56 = 3136 tokens of 96 channels, 100 clusters, 2
// heads of 48 channels. The C++ runtime runs the same ops
// (runtime/models/paca_kernels.mlir) between its projections and norms.
// `scripts/demo.sh` tunes and compiles this file for the host and checks
// the library against the NumPy oracle.

// Clustering: each cluster's softmax over the tokens of the clustering
// logits L [1, 100, 3136], then the cluster tokens Z · X with X
// [1, 3136, 96] -> [1, 100, 96]. The optimised pipeline fuses the two.
func.func @assign_pool(%logits: tensor<1x100x3136xf32>,
                       %x: tensor<1x3136x96xf32>) -> tensor<1x100x96xf32> {
  %z_init = tensor.empty() : tensor<1x100x3136xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<1x100x3136xf32>
  %c_init = tensor.empty() : tensor<1x100x96xf32>
  %c = clus.pool %z, %x outs(%c_init)
      : tensor<1x100x3136xf32>, tensor<1x3136x96xf32> -> tensor<1x100x96xf32>
  return %c : tensor<1x100x96xf32>
}

// Clustered attention: every token's query Q [1, 2, 3136, 48] attends
// over the keys and values of the 100 cluster tokens, K and V
// [1, 2, 100, 48]: softmax(Q Kᵀ / sqrt(48)) V, 3136 x 100 scores per head
// instead of the dense 3136 x 3136.
func.func @cluster_attention(%q: tensor<1x2x3136x48xf32>,
                             %k: tensor<1x2x100x48xf32>,
                             %v: tensor<1x2x100x48xf32>)
    -> tensor<1x2x3136x48xf32> {
  %o_init = tensor.empty() : tensor<1x2x3136x48xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<1x2x3136x48xf32>, [tensor<1x2x100x48xf32>, tensor<1x2x100x48xf32>]
      -> tensor<1x2x3136x48xf32>
  return %o : tensor<1x2x3136x48xf32>
}

// The clus parts of a PaCa-ViT block (docs/models.md), compiled at build time
// by clusopt-compile into paca_kernels.so for the runtime's PacaVit model.
// Every dim is dynamic: batch, tokens, channels, clusters and heads vary by
// stage, model size and resolution.

// Ctok before cluster_norm: softmax over the tokens of the clustering
// logits L [B, M, N], then Z · X with X [B, N, C] -> [B, M, C]. Blocks after
// the first pass the stage's stored logits again: recomputing the softmax
// costs one pass over [B, M, N], and the kernel fuses it into the pool.
func.func @assign_pool(%logits: tensor<?x?x?xf32>, %x: tensor<?x?x?xf32>)
    -> tensor<?x?x?xf32> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %logits, %z_init_c0 : tensor<?x?x?xf32>
  %z_init_c1 = arith.constant 1 : index
  %z_init_d1 = tensor.dim %logits, %z_init_c1 : tensor<?x?x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %logits, %z_init_c2 : tensor<?x?x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d1, %z_init_d2) : tensor<?x?x?xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<?x?x?xf32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %logits, %c_init_c0 : tensor<?x?x?xf32>
  %c_init_c1 = arith.constant 1 : index
  %c_init_d1 = tensor.dim %logits, %c_init_c1 : tensor<?x?x?xf32>
  %c_init_c2 = arith.constant 2 : index
  %c_init_d2 = tensor.dim %x, %c_init_c2 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0, %c_init_d1, %c_init_d2) : tensor<?x?x?xf32>
  %c = clus.pool %z, %x outs(%c_init)
      : tensor<?x?x?xf32>, tensor<?x?x?xf32> -> tensor<?x?x?xf32>
  return %c : tensor<?x?x?xf32>
}

// softmax(Q Kᵀ / sqrt(D)) V with Q [B, H, N, D] and K, V [B, H, M, D]; in
// stage 4 (no clusters) K and V come from the tokens themselves.
func.func @attention(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>,
                     %v: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x?x?x?xf32>
  %o_init_c1 = arith.constant 1 : index
  %o_init_d1 = tensor.dim %q, %o_init_c1 : tensor<?x?x?x?xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x?x?x?xf32>
  %o_init_c3 = arith.constant 3 : index
  %o_init_d3 = tensor.dim %v, %o_init_c3 : tensor<?x?x?x?xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d1, %o_init_d2, %o_init_d3) : tensor<?x?x?x?xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x?x?x?xf32>, [tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>]
      -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

// The same kernels with the dims a PaCa stage fixes (heads and head dim;
// clusters and channels) static: constant loop bounds and offsets make
// them markedly faster. PacaVit calls these when they match and the
// generic ones above otherwise (docs/models.md sizes: tiny/small heads
// 2/4/8/16 of 48/48/40/24, base of 48/48/48/32; 100 clusters at
// 96/192/320/384 channels).

func.func @attention_h2_d48(%q: tensor<?x2x?x48xf32>, %k: tensor<?x2x?x48xf32>, %v: tensor<?x2x?x48xf32>) -> tensor<?x2x?x48xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x2x?x48xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x2x?x48xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x2x?x48xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x2x?x48xf32>, [tensor<?x2x?x48xf32>, tensor<?x2x?x48xf32>]
      -> tensor<?x2x?x48xf32>
  return %o : tensor<?x2x?x48xf32>
}

func.func @attention_h4_d48(%q: tensor<?x4x?x48xf32>, %k: tensor<?x4x?x48xf32>, %v: tensor<?x4x?x48xf32>) -> tensor<?x4x?x48xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x4x?x48xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x4x?x48xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x4x?x48xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x4x?x48xf32>, [tensor<?x4x?x48xf32>, tensor<?x4x?x48xf32>]
      -> tensor<?x4x?x48xf32>
  return %o : tensor<?x4x?x48xf32>
}

func.func @attention_h8_d40(%q: tensor<?x8x?x40xf32>, %k: tensor<?x8x?x40xf32>, %v: tensor<?x8x?x40xf32>) -> tensor<?x8x?x40xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x8x?x40xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x8x?x40xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x8x?x40xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x8x?x40xf32>, [tensor<?x8x?x40xf32>, tensor<?x8x?x40xf32>]
      -> tensor<?x8x?x40xf32>
  return %o : tensor<?x8x?x40xf32>
}

func.func @attention_h16_d24(%q: tensor<?x16x?x24xf32>, %k: tensor<?x16x?x24xf32>, %v: tensor<?x16x?x24xf32>) -> tensor<?x16x?x24xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x16x?x24xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x16x?x24xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x16x?x24xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x16x?x24xf32>, [tensor<?x16x?x24xf32>, tensor<?x16x?x24xf32>]
      -> tensor<?x16x?x24xf32>
  return %o : tensor<?x16x?x24xf32>
}

func.func @attention_h8_d48(%q: tensor<?x8x?x48xf32>, %k: tensor<?x8x?x48xf32>, %v: tensor<?x8x?x48xf32>) -> tensor<?x8x?x48xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x8x?x48xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x8x?x48xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x8x?x48xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x8x?x48xf32>, [tensor<?x8x?x48xf32>, tensor<?x8x?x48xf32>]
      -> tensor<?x8x?x48xf32>
  return %o : tensor<?x8x?x48xf32>
}

func.func @attention_h16_d32(%q: tensor<?x16x?x32xf32>, %k: tensor<?x16x?x32xf32>, %v: tensor<?x16x?x32xf32>) -> tensor<?x16x?x32xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x16x?x32xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x16x?x32xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x16x?x32xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x16x?x32xf32>, [tensor<?x16x?x32xf32>, tensor<?x16x?x32xf32>]
      -> tensor<?x16x?x32xf32>
  return %o : tensor<?x16x?x32xf32>
}

// Stages 1-3 attend over the 100 cluster tokens: with that count static
// too, the scores fit a constant number of vectors (the stage-1..3
// attention 1.1-1.25x faster in clusopt-run's profile). Stage 4 attends
// over the tokens, whose count follows the resolution, and uses
// attention_h<H>_d<D>. Their tiles: 6 query rows, and one 112-wide tile
// (the 100 clusters padded to vectors) of scores, 2-4% faster than the
// default 4 x 128 at the three stages' shapes (interleaved in one process).
func.func @attention_h2_d48_m100(%q: tensor<?x2x?x48xf32>, %k: tensor<?x2x100x48xf32>, %v: tensor<?x2x100x48xf32>) -> tensor<?x2x?x48xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x2x?x48xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x2x?x48xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x2x?x48xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 6, cols = 112>}
      : tensor<?x2x?x48xf32>, [tensor<?x2x100x48xf32>, tensor<?x2x100x48xf32>]
      -> tensor<?x2x?x48xf32>
  return %o : tensor<?x2x?x48xf32>
}

func.func @attention_h4_d48_m100(%q: tensor<?x4x?x48xf32>, %k: tensor<?x4x100x48xf32>, %v: tensor<?x4x100x48xf32>) -> tensor<?x4x?x48xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x4x?x48xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x4x?x48xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x4x?x48xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 6, cols = 112>}
      : tensor<?x4x?x48xf32>, [tensor<?x4x100x48xf32>, tensor<?x4x100x48xf32>]
      -> tensor<?x4x?x48xf32>
  return %o : tensor<?x4x?x48xf32>
}

func.func @attention_h8_d40_m100(%q: tensor<?x8x?x40xf32>, %k: tensor<?x8x100x40xf32>, %v: tensor<?x8x100x40xf32>) -> tensor<?x8x?x40xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x8x?x40xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x8x?x40xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x8x?x40xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 6, cols = 112>}
      : tensor<?x8x?x40xf32>, [tensor<?x8x100x40xf32>, tensor<?x8x100x40xf32>]
      -> tensor<?x8x?x40xf32>
  return %o : tensor<?x8x?x40xf32>
}

func.func @attention_h8_d48_m100(%q: tensor<?x8x?x48xf32>, %k: tensor<?x8x100x48xf32>, %v: tensor<?x8x100x48xf32>) -> tensor<?x8x?x48xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x8x?x48xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x8x?x48xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x8x?x48xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 6, cols = 112>}
      : tensor<?x8x?x48xf32>, [tensor<?x8x100x48xf32>, tensor<?x8x100x48xf32>]
      -> tensor<?x8x?x48xf32>
  return %o : tensor<?x8x?x48xf32>
}

// Stage 1's and 2's pools carry tiles picked on a 2-vCPU Sapphire Rapids
// at 224 (these entries are dynamic in tokens, so the sizes were timed on
// static copies): stage 2's is clusopt-tune's pick, 1.21x (265 -> 221 us)
// against the default rows = 4, cols = 128; stage 1's was too (5 x 768,
// 1.22x), until the softmax's rows ran side by side and 8 rows became
// 0.88x its time (interleaved in one process). For stage 3 the default
// was best.
func.func @assign_pool_m100_c96(%logits: tensor<?x100x?xf32>, %x: tensor<?x?x96xf32>) -> tensor<?x100x96xf32> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %logits, %z_init_c0 : tensor<?x100x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %logits, %z_init_c2 : tensor<?x100x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x100x?xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<?x100x?xf32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %logits, %c_init_c0 : tensor<?x100x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x100x96xf32>
  %c = clus.pool %z, %x outs(%c_init) {clus.lowering_config = #clus.lowering_config<rows = 8, cols = 768>}
      : tensor<?x100x?xf32>, tensor<?x?x96xf32> -> tensor<?x100x96xf32>
  return %c : tensor<?x100x96xf32>
}

func.func @assign_pool_m100_c192(%logits: tensor<?x100x?xf32>, %x: tensor<?x?x192xf32>) -> tensor<?x100x192xf32> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %logits, %z_init_c0 : tensor<?x100x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %logits, %z_init_c2 : tensor<?x100x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x100x?xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<?x100x?xf32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %logits, %c_init_c0 : tensor<?x100x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x100x192xf32>
  %c = clus.pool %z, %x outs(%c_init) {clus.lowering_config = #clus.lowering_config<rows = 5, cols = 592>}
      : tensor<?x100x?xf32>, tensor<?x?x192xf32> -> tensor<?x100x192xf32>
  return %c : tensor<?x100x192xf32>
}

func.func @assign_pool_m100_c320(%logits: tensor<?x100x?xf32>, %x: tensor<?x?x320xf32>) -> tensor<?x100x320xf32> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %logits, %z_init_c0 : tensor<?x100x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %logits, %z_init_c2 : tensor<?x100x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x100x?xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<?x100x?xf32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %logits, %c_init_c0 : tensor<?x100x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x100x320xf32>
  %c = clus.pool %z, %x outs(%c_init)
      : tensor<?x100x?xf32>, tensor<?x?x320xf32> -> tensor<?x100x320xf32>
  return %c : tensor<?x100x320xf32>
}

func.func @assign_pool_m100_c384(%logits: tensor<?x100x?xf32>, %x: tensor<?x?x384xf32>) -> tensor<?x100x384xf32> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %logits, %z_init_c0 : tensor<?x100x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %logits, %z_init_c2 : tensor<?x100x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x100x?xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<?x100x?xf32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %logits, %c_init_c0 : tensor<?x100x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x100x384xf32>
  %c = clus.pool %z, %x outs(%c_init)
      : tensor<?x100x?xf32>, tensor<?x?x384xf32> -> tensor<?x100x384xf32>
  return %c : tensor<?x100x384xf32>
}

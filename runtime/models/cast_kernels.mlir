// The clus parts of CAST-ViT and ViT-dense (docs/models.md), compiled at
// build time by clusopt-compile into cast_kernels.so for the runtime's
// CastVit model. Batch, tokens and clusters are dynamic.

// Top-K membership (non-exclusive) from the mean-over-heads
// affinities G [B, N, M]. The capacity κ = 2·N/M is a static attribute (it
// sizes the result), so there is one entry per resolution, named by κ;
// CastVit picks topk_members_k<κ> for the N its weights have. Resolutions
// with patch 16 and M = 14 clusters:
//   64: N = 16, κ = 2
//   96: N = 36, κ = 5
//   128: N = 64, κ = 9
//   160: N = 100, κ = 14
//   192: N = 144, κ = 20
//   224: N = 196, κ = 28
//   256: N = 256, κ = 36
//   320: N = 400, κ = 57
//   384: N = 576, κ = 82
//   448: N = 784, κ = 112
//   512: N = 1024, κ = 146

func.func @topk_members_k2(%g: tensor<?x?x?xf32>) -> tensor<?x?x2xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x2xi32>
  %m = clus.topk_members %g capacity = 2 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x2xi32>
  return %m : tensor<?x?x2xi32>
}

func.func @topk_members_k5(%g: tensor<?x?x?xf32>) -> tensor<?x?x5xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x5xi32>
  %m = clus.topk_members %g capacity = 5 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x5xi32>
  return %m : tensor<?x?x5xi32>
}

func.func @topk_members_k9(%g: tensor<?x?x?xf32>) -> tensor<?x?x9xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x9xi32>
  %m = clus.topk_members %g capacity = 9 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x9xi32>
  return %m : tensor<?x?x9xi32>
}

func.func @topk_members_k14(%g: tensor<?x?x?xf32>) -> tensor<?x?x14xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x14xi32>
  %m = clus.topk_members %g capacity = 14 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x14xi32>
  return %m : tensor<?x?x14xi32>
}

func.func @topk_members_k20(%g: tensor<?x?x?xf32>) -> tensor<?x?x20xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x20xi32>
  %m = clus.topk_members %g capacity = 20 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x20xi32>
  return %m : tensor<?x?x20xi32>
}

func.func @topk_members_k28(%g: tensor<?x?x?xf32>) -> tensor<?x?x28xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x28xi32>
  %m = clus.topk_members %g capacity = 28 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x28xi32>
  return %m : tensor<?x?x28xi32>
}

func.func @topk_members_k36(%g: tensor<?x?x?xf32>) -> tensor<?x?x36xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x36xi32>
  %m = clus.topk_members %g capacity = 36 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x36xi32>
  return %m : tensor<?x?x36xi32>
}

func.func @topk_members_k57(%g: tensor<?x?x?xf32>) -> tensor<?x?x57xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x57xi32>
  %m = clus.topk_members %g capacity = 57 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x57xi32>
  return %m : tensor<?x?x57xi32>
}

func.func @topk_members_k82(%g: tensor<?x?x?xf32>) -> tensor<?x?x82xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x82xi32>
  %m = clus.topk_members %g capacity = 82 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x82xi32>
  return %m : tensor<?x?x82xi32>
}

func.func @topk_members_k112(%g: tensor<?x?x?xf32>) -> tensor<?x?x112xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x112xi32>
  %m = clus.topk_members %g capacity = 112 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x112xi32>
  return %m : tensor<?x?x112xi32>
}

func.func @topk_members_k146(%g: tensor<?x?x?xf32>) -> tensor<?x?x146xi32> {
  %m_init_c0 = arith.constant 0 : index
  %m_init_d0 = tensor.dim %g, %m_init_c0 : tensor<?x?x?xf32>
  %m_init_c1 = arith.constant 2 : index
  %m_init_d1 = tensor.dim %g, %m_init_c1 : tensor<?x?x?xf32>
  %m_init = tensor.empty(%m_init_d0, %m_init_d1) : tensor<?x?x146xi32>
  %m = clus.topk_members %g capacity = 146 outs(%m_init)
      : tensor<?x?x?xf32> -> tensor<?x?x146xi32>
  return %m : tensor<?x?x146xi32>
}

// CAST-style attention (clus.cluster_attention) with summaries: q, k, v
// [B, H, N, D], members [B, M, κ] (κ dynamic, so one entry serves every
// resolution) and the affinities Aq, Ak [B, H, N, M]; scale 1/sqrt(D).
func.func @cluster_attention(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>,
                             %v: tensor<?x?x?x?xf32>, %m: tensor<?x?x?xi32>,
                             %aq: tensor<?x?x?x?xf32>,
                             %ak: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x?x?x?xf32>
  %o_init_c1 = arith.constant 1 : index
  %o_init_d1 = tensor.dim %q, %o_init_c1 : tensor<?x?x?x?xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x?x?x?xf32>
  %o_init_c3 = arith.constant 3 : index
  %o_init_d3 = tensor.dim %v, %o_init_c3 : tensor<?x?x?x?xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d1, %o_init_d2, %o_init_d3) : tensor<?x?x?x?xf32>
  %o = clus.cluster_attention %q, %k, %v members(%m) affinities(%aq, %ak)
      summaries = true outs(%o_init) : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>,
        tensor<?x?x?xi32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32> -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

// ViT-dense: softmax(Q Kᵀ / sqrt(D)) V with K and V the tokens themselves.
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

// CAST-ViT's fixed dims (3 heads of 64, 14 clusters) static: CastVit calls
// these when they match, the generic entries above otherwise.

func.func @cluster_attention_h3_d64_m14(%q: tensor<?x3x?x64xf32>, %k: tensor<?x3x?x64xf32>, %v: tensor<?x3x?x64xf32>, %m: tensor<?x14x?xi32>,
                                       %aq: tensor<?x3x?x14xf32>, %ak: tensor<?x3x?x14xf32>) -> tensor<?x3x?x64xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x3x?x64xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x3x?x64xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x3x?x64xf32>
  %o = clus.cluster_attention %q, %k, %v members(%m) affinities(%aq, %ak)
      summaries = true outs(%o_init) : tensor<?x3x?x64xf32>, tensor<?x3x?x64xf32>, tensor<?x3x?x64xf32>, tensor<?x14x?xi32>, tensor<?x3x?x14xf32>, tensor<?x3x?x14xf32> -> tensor<?x3x?x64xf32>
  return %o : tensor<?x3x?x64xf32>
}

func.func @attention_h3_d64(%q: tensor<?x3x?x64xf32>, %k: tensor<?x3x?x64xf32>, %v: tensor<?x3x?x64xf32>) -> tensor<?x3x?x64xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x3x?x64xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x3x?x64xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x3x?x64xf32>
  %o = clus.attention %q, [%k, %v] outs(%o_init)
      : tensor<?x3x?x64xf32>, [tensor<?x3x?x64xf32>, tensor<?x3x?x64xf32>]
      -> tensor<?x3x?x64xf32>
  return %o : tensor<?x3x?x64xf32>
}

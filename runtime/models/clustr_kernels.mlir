// The clus parts of a ClusTR block (docs/models.md), compiled at build time by
// clusopt-compile into clustr_kernels.so for the runtime's ClusTR model.
//
// dpc_knn and aggregate take their cluster counts as attributes, so each
// count needs its own entry point. ClusTR asks for M1 = N / sr² clusters and
// M2 = 4·M1; with patch 4, stride-2 embeddings and sr = 8, 4, 2 that is
// M1 = (H/32)·(W/32) in every stage, so one M1 per input resolution. This
// file covers the square resolutions 32·k for k = 1..12 (32 to 384,
// M1 = k²); ClusTR::forward names the missing entry point for any other.
// Compiling entry points ahead of time keeps clusopt-compile (and MLIR) out
// of the runtime, at the price of a fixed list: to add a resolution, add
// dpc_knn_m<M1> and aggregate_m<M> for M = M1 and 4·M1.
// Batch, tokens and channels are dynamic.

// Two-scale ClusTR attention: Σ_s softmax(Q K_sᵀ / sqrt(D)) V_s with
// Q [B, H, N, D] and K_s, V_s [B, H, M_s, D]; per-scale softmaxes, summed.
func.func @attention2(%q: tensor<?x?x?x?xf32>,
                      %k1: tensor<?x?x?x?xf32>, %v1: tensor<?x?x?x?xf32>,
                      %k2: tensor<?x?x?x?xf32>, %v2: tensor<?x?x?x?xf32>)
    -> tensor<?x?x?x?xf32> {
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x?x?x?xf32>
  %o_init_c1 = arith.constant 1 : index
  %o_init_d1 = tensor.dim %q, %o_init_c1 : tensor<?x?x?x?xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x?x?x?xf32>
  %o_init_c3 = arith.constant 3 : index
  %o_init_d3 = tensor.dim %v1, %o_init_c3 : tensor<?x?x?x?xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d1, %o_init_d2, %o_init_d3) : tensor<?x?x?x?xf32>
  %o = clus.attention %q, [%k1, %v1], [%k2, %v2] outs(%o_init)
      : tensor<?x?x?x?xf32>, [tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>],
        [tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>] -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

// Stage 4 (sr = 1): plain multi-head attention, K and V from the tokens.
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

// dpc_knn_m<M1>: X [B, N, C] -> assign [B, 2, N] (scales M1 and 4·M1) and
// centres [B, 2, 4·M1] (unused slots -1), k = 5 nearest neighbours.

func.func @dpc_knn_m1(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x4xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x4xi32>
  %a, %c = clus.dpc_knn %x clusters = [1, 4] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x4xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x4xi32>
}

func.func @dpc_knn_m4(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x16xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x16xi32>
  %a, %c = clus.dpc_knn %x clusters = [4, 16] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x16xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x16xi32>
}

func.func @dpc_knn_m9(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x36xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x36xi32>
  %a, %c = clus.dpc_knn %x clusters = [9, 36] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x36xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x36xi32>
}

func.func @dpc_knn_m16(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x64xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x64xi32>
  %a, %c = clus.dpc_knn %x clusters = [16, 64] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x64xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x64xi32>
}

func.func @dpc_knn_m25(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x100xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x100xi32>
  %a, %c = clus.dpc_knn %x clusters = [25, 100] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x100xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x100xi32>
}

func.func @dpc_knn_m36(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x144xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x144xi32>
  %a, %c = clus.dpc_knn %x clusters = [36, 144] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x144xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x144xi32>
}

func.func @dpc_knn_m49(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x196xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x196xi32>
  %a, %c = clus.dpc_knn %x clusters = [49, 196] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x196xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x196xi32>
}

func.func @dpc_knn_m64(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x256xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x256xi32>
  %a, %c = clus.dpc_knn %x clusters = [64, 256] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x256xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x256xi32>
}

func.func @dpc_knn_m81(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x324xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x324xi32>
  %a, %c = clus.dpc_knn %x clusters = [81, 324] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x324xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x324xi32>
}

func.func @dpc_knn_m100(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x400xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x400xi32>
  %a, %c = clus.dpc_knn %x clusters = [100, 400] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x400xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x400xi32>
}

func.func @dpc_knn_m121(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x484xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x484xi32>
  %a, %c = clus.dpc_knn %x clusters = [121, 484] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x484xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x484xi32>
}

func.func @dpc_knn_m144(%x: tensor<?x?x?xf32>)
    -> (tensor<?x2x?xi32>, tensor<?x2x576xi32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x?xf32>
  %a_init_c2 = arith.constant 1 : index
  %a_init_d2 = tensor.dim %x, %a_init_c2 : tensor<?x?x?xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d2) : tensor<?x2x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x?xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x2x576xi32>
  %a, %c = clus.dpc_knn %x clusters = [144, 576] k = 5 outs(%a_init, %c_init)
      : tensor<?x?x?xf32> -> tensor<?x2x?xi32>, tensor<?x2x576xi32>
  return %a, %c : tensor<?x2x?xi32>, tensor<?x2x576xi32>
}

// aggregate_m<M>: weighted_mean of X [B, N, C] with assign [B, N] and
// weights [B, N] into [B, M, C]: Σ w X / (Σ w + 1e-6) per cluster.

func.func @aggregate_m1(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x1x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x1x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 1
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x1x?xf32>
  return %y : tensor<?x1x?xf32>
}

func.func @aggregate_m4(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x4x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x4x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 4
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x4x?xf32>
  return %y : tensor<?x4x?xf32>
}

func.func @aggregate_m9(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x9x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x9x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 9
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x9x?xf32>
  return %y : tensor<?x9x?xf32>
}

func.func @aggregate_m16(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x16x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x16x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 16
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x16x?xf32>
  return %y : tensor<?x16x?xf32>
}

func.func @aggregate_m25(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x25x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x25x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 25
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x25x?xf32>
  return %y : tensor<?x25x?xf32>
}

func.func @aggregate_m36(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x36x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x36x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 36
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x36x?xf32>
  return %y : tensor<?x36x?xf32>
}

func.func @aggregate_m49(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x49x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x49x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 49
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x49x?xf32>
  return %y : tensor<?x49x?xf32>
}

func.func @aggregate_m64(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x64x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x64x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 64
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x64x?xf32>
  return %y : tensor<?x64x?xf32>
}

func.func @aggregate_m81(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x81x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x81x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 81
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x81x?xf32>
  return %y : tensor<?x81x?xf32>
}

func.func @aggregate_m100(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x100x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x100x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 100
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x100x?xf32>
  return %y : tensor<?x100x?xf32>
}

func.func @aggregate_m121(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x121x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x121x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 121
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x121x?xf32>
  return %y : tensor<?x121x?xf32>
}

func.func @aggregate_m144(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x144x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x144x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 144
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x144x?xf32>
  return %y : tensor<?x144x?xf32>
}

func.func @aggregate_m196(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x196x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x196x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 196
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x196x?xf32>
  return %y : tensor<?x196x?xf32>
}

func.func @aggregate_m256(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x256x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x256x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 256
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x256x?xf32>
  return %y : tensor<?x256x?xf32>
}

func.func @aggregate_m324(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x324x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x324x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 324
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x324x?xf32>
  return %y : tensor<?x324x?xf32>
}

func.func @aggregate_m400(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x400x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x400x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 400
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x400x?xf32>
  return %y : tensor<?x400x?xf32>
}

func.func @aggregate_m484(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x484x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x484x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 484
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x484x?xf32>
  return %y : tensor<?x484x?xf32>
}

func.func @aggregate_m576(%x: tensor<?x?x?xf32>, %a: tensor<?x?xi32>,
                          %w: tensor<?x?xf32>) -> tensor<?x576x?xf32> {
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %x, %y_init_c0 : tensor<?x?x?xf32>
  %y_init_c2 = arith.constant 2 : index
  %y_init_d2 = tensor.dim %x, %y_init_c2 : tensor<?x?x?xf32>
  %y_init = tensor.empty(%y_init_d0, %y_init_d2) : tensor<?x576x?xf32>
  %y = clus.aggregate %x, %a weights(%w : tensor<?x?xf32>) clusters = 576
      reduction = weighted_mean eps = 1.0e-6 outs(%y_init) : tensor<?x?x?xf32>, tensor<?x?xi32> -> tensor<?x576x?xf32>
  return %y : tensor<?x576x?xf32>
}

"""Self-tests of the float64 NumPy oracle ``clusopt.reference``.

Three kinds of checks:

* tiny cases whose expected values are worked out by hand from the op
  definitions,
* tie rules, out-of-range indices, invariants and ValueError cases,
* cross-checks of every (vectorised) oracle function against a deliberately
  naive pure-Python loop version on small random inputs.
"""

import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from clusopt import reference as ref  # noqa: E402

E = math.e
LN2 = math.log(2.0)
LN3 = math.log(3.0)


def arr(x):
    return np.array(x, dtype=np.float64)


# ==========================================================================
# naive pure-Python versions (loops over Python floats, math module only)
# ==========================================================================

def naive_softmax(xs):
    mx = max(xs)
    es = [math.exp(x - mx) for x in xs]
    tot = sum(es)
    return [e / tot for e in es]


def naive_soft_assign(logits, axis):
    B, M, N = logits.shape
    out = np.zeros((B, M, N))
    for b in range(B):
        if axis == "tokens":
            for m in range(M):
                p = naive_softmax([float(logits[b, m, n]) for n in range(N)])
                for n in range(N):
                    out[b, m, n] = p[n]
        else:
            for n in range(N):
                p = naive_softmax([float(logits[b, m, n]) for m in range(M)])
                for m in range(M):
                    out[b, m, n] = p[m]
    return out


def naive_pool(Z, X):
    B, M, N = Z.shape
    C = X.shape[2]
    out = np.zeros((B, M, C))
    for b in range(B):
        for m in range(M):
            for c in range(C):
                out[b, m, c] = sum(float(Z[b, m, n]) * float(X[b, n, c])
                                   for n in range(N))
    return out


def naive_normalise(v):
    nrm = math.sqrt(sum(x * x for x in v))
    return [x / max(nrm, 1e-12) for x in v]


def naive_kmeans(X, M, iters, metric="l2", init=None):
    B, N, C = X.shape
    assign = np.zeros((B, N), dtype=np.int64)
    cents = np.zeros((B, M, C))
    for b in range(B):
        rows = [[float(X[b, n, c]) for c in range(C)] for n in range(N)]
        if metric == "cosine":
            rows = [naive_normalise(r) for r in rows]
        if init is None:
            mu = [[float(X[b, (m * N) // M, c]) for c in range(C)]
                  for m in range(M)]
        else:
            mu = [[float(init[b, m, c]) for c in range(C)] for m in range(M)]
        for _ in range(iters):
            a = []
            for n in range(N):
                best, best_m = None, None
                for m in range(M):
                    if metric == "l2":
                        d = sum((rows[n][c] - mu[m][c]) ** 2
                                for c in range(C))
                    else:
                        mh = naive_normalise(mu[m])
                        d = 1.0 - sum(rows[n][c] * mh[c] for c in range(C))
                    if best is None or d < best:
                        best, best_m = d, m
                a.append(best_m)
            new_mu = []
            for m in range(M):
                sel = [rows[n] for n in range(N) if a[n] == m]
                if sel:
                    new_mu.append([sum(r[c] for r in sel) / len(sel)
                                   for c in range(C)])
                else:
                    new_mu.append(list(mu[m]))
            mu = new_mu
        assign[b] = a
        cents[b] = mu
    return assign, cents


def naive_dpc(X, scales, k):
    B, N, C = X.shape
    S = len(scales)
    assign = np.zeros((B, S, N), dtype=np.int64)
    centers = -np.ones((B, S, max(scales)), dtype=np.int64)
    for b in range(B):
        D = [[math.sqrt(sum((float(X[b, i, c]) - float(X[b, j, c])) ** 2
                            for c in range(C))) / math.sqrt(C)
              for j in range(N)] for i in range(N)]
        rho = []
        for i in range(N):
            near = sorted(D[i])[:min(k, N)]
            rho.append(math.exp(-sum(d * d for d in near) / len(near)))
        dmax = max(max(row) for row in D)
        delta = []
        for i in range(N):
            denser = [j for j in range(N)
                      if rho[j] > rho[i] or (rho[j] == rho[i] and j < i)]
            delta.append(min(D[i][j] for j in denser) if denser else dmax)
        score = [rho[i] * delta[i] for i in range(N)]
        ranked = sorted(range(N), key=lambda i: (-score[i], i))
        for s, ms in enumerate(scales):
            ctr = ranked[:ms]
            for i in range(N):
                best_m = 0
                for m in range(1, ms):
                    if D[i][ctr[m]] < D[i][ctr[best_m]]:
                        best_m = m
                assign[b, s, i] = best_m
            for m in range(ms):
                assign[b, s, ctr[m]] = m
                centers[b, s, m] = ctr[m]
    return assign, centers


def naive_aggregate(X, assign, M, reduction, weights=None, eps=1e-6):
    B, N, C = X.shape
    out = np.zeros((B, M, C))
    for b in range(B):
        for m in range(M):
            idx = [n for n in range(N) if assign[b, n] == m]
            for c in range(C):
                if reduction == "weighted_mean":
                    num = sum(float(weights[b, n]) * float(X[b, n, c])
                              for n in idx)
                    den = sum(float(weights[b, n]) for n in idx) + eps
                    out[b, m, c] = num / den
                else:
                    tot = sum(float(X[b, n, c]) for n in idx)
                    if reduction == "mean":
                        tot /= max(len(idx), 1)
                    out[b, m, c] = tot
    return out


def naive_broadcast(Y, assign):
    B, M, C = Y.shape
    N = assign.shape[1]
    out = np.zeros((B, N, C))
    for b in range(B):
        for n in range(N):
            a = int(assign[b, n])
            if 0 <= a < M:
                for c in range(C):
                    out[b, n, c] = Y[b, a, c]
    return out


def naive_attention(Q, kv, scale):
    B, H, N, D = Q.shape
    Dv = kv[0][1].shape[3]
    out = np.zeros((B, H, N, Dv))
    for b in range(B):
        for h in range(H):
            for n in range(N):
                for K, V in kv:
                    Ms = K.shape[2]
                    s = [scale * sum(float(Q[b, h, n, d])
                                     * float(K[b, h, m, d]) for d in range(D))
                         for m in range(Ms)]
                    p = naive_softmax(s)
                    for e in range(Dv):
                        out[b, h, n, e] += sum(p[m] * float(V[b, h, m, e])
                                               for m in range(Ms))
    return out


def naive_topk(G, kappa, exclusive):
    B, N, M = G.shape
    out = -np.ones((B, M, kappa), dtype=np.int64)
    for b in range(B):
        owner = []
        for n in range(N):
            best = 0
            for m in range(1, M):
                if G[b, n, m] > G[b, n, best]:
                    best = m
            owner.append(best)
        for m in range(M):
            cand = [n for n in range(N) if not exclusive or owner[n] == m]
            cand.sort(key=lambda n: (-float(G[b, n, m]), n))
            for i, n in enumerate(cand[:kappa]):
                out[b, m, i] = n
    return out


def naive_cluster_attention(Q, K, V, members, Aq, Ak, scale, summaries):
    B, H, N, D = Q.shape
    Dv = V.shape[3]
    M = members.shape[1]
    kappa = members.shape[2]
    out = np.zeros((B, H, N, Dv))
    for b in range(B):
        for h in range(H):
            # R[m] = sum_n softmax_n(Ak[:, m]) V[n]
            R = []
            for m in range(M):
                p = naive_softmax([float(Ak[b, h, n, m]) for n in range(N)])
                R.append([sum(p[n] * float(V[b, h, n, e]) for n in range(N))
                          for e in range(Dv)])
            for t in range(N):
                outs = []
                for m in range(M):
                    valid = [int(u) for u in members[b, m] if 0 <= u < N]
                    for i in range(kappa):
                        if members[b, m, i] != t:
                            continue
                        expo, vals = [], []
                        for u in valid:
                            expo.append(scale * sum(
                                float(Q[b, h, t, d]) * float(K[b, h, u, d])
                                for d in range(D)))
                            vals.append([float(V[b, h, u, e])
                                         for e in range(Dv)])
                        if summaries:
                            for mm in range(M):
                                if mm != m:
                                    expo.append(float(Aq[b, h, t, mm]))
                                    vals.append(R[mm])
                        mx = max(expo)
                        w = [math.exp(x - mx) for x in expo]
                        outs.append([sum(w[j] * vals[j][e]
                                         for j in range(len(w))) / sum(w)
                                     for e in range(Dv)])
                if outs:
                    for e in range(Dv):
                        out[b, h, t, e] = sum(o[e] for o in outs) / len(outs)
                elif summaries:
                    p = naive_softmax([float(Aq[b, h, t, m])
                                       for m in range(M)])
                    for e in range(Dv):
                        out[b, h, t, e] = sum(p[m] * R[m][e]
                                              for m in range(M))
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ==========================================================================
# 2.1 soft_assign
# ==========================================================================

def test_soft_assign_hand_tokens():
    z = ref.soft_assign(arr([[[0.0, LN3]]]))
    np.testing.assert_allclose(z, [[[0.25, 0.75]]], rtol=0, atol=1e-15)


def test_soft_assign_hand_clusters():
    # logits [B=1, M=2, N=2]; softmax over the cluster axis per token.
    z = ref.soft_assign(arr([[[0.0, 5.0], [LN3, 5.0]]]), axis="clusters")
    np.testing.assert_allclose(z, [[[0.25, 0.5], [0.75, 0.5]]],
                               rtol=0, atol=1e-15)


def test_soft_assign_is_stable_for_large_logits():
    z = ref.soft_assign(arr([[[1000.0, 1000.0, -1000.0]]]))
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(z, [[[0.5, 0.5, 0.0]]], atol=1e-300)


def test_soft_assign_rows_sum_to_one(rng):
    logits = rng.standard_normal((2, 5, 7)) * 10
    assert np.allclose(ref.soft_assign(logits).sum(axis=2), 1.0,
                       rtol=0, atol=1e-14)
    assert np.allclose(ref.soft_assign(logits, "clusters").sum(axis=1), 1.0,
                       rtol=0, atol=1e-14)


def test_soft_assign_returns_float64(rng):
    z = ref.soft_assign(rng.standard_normal((1, 2, 3)).astype(np.float32))
    assert z.dtype == np.float64


@pytest.mark.parametrize("axis", ["tokens", "clusters"])
def test_soft_assign_vs_naive(rng, axis):
    logits = rng.standard_normal((2, 4, 6)) * 3
    np.testing.assert_allclose(ref.soft_assign(logits, axis),
                               naive_soft_assign(logits, axis),
                               rtol=1e-13, atol=1e-15)


def test_soft_assign_bad_axis():
    with pytest.raises(ValueError):
        ref.soft_assign(np.zeros((1, 2, 3)), axis="channels")


# ==========================================================================
# 2.2 pool
# ==========================================================================

def test_pool_hand():
    Z = arr([[[0.5, 0.5], [1.0, 0.0]]])         # [1, M=2, N=2]
    X = arr([[[1.0, 2.0], [3.0, 4.0]]])         # [1, N=2, C=2]
    np.testing.assert_array_equal(ref.pool(Z, X), [[[2.0, 3.0], [1.0, 2.0]]])


def test_pool_vs_naive(rng):
    Z = rng.random((2, 3, 5))
    X = rng.standard_normal((2, 5, 4))
    np.testing.assert_allclose(ref.pool(Z, X), naive_pool(Z, X),
                               rtol=1e-13, atol=1e-14)


def test_pool_soft_assign_composition_is_convex(rng):
    # pool(soft_assign(tokens)) rows are convex combinations of X rows.
    X = rng.standard_normal((1, 6, 3))
    Y = ref.pool(ref.soft_assign(rng.standard_normal((1, 4, 6))), X)
    assert np.all(Y <= X.max(axis=1, keepdims=True) + 1e-12)
    assert np.all(Y >= X.min(axis=1, keepdims=True) - 1e-12)


def test_pool_shape_mismatch():
    with pytest.raises(ValueError):
        ref.pool(np.zeros((1, 2, 3)), np.zeros((1, 4, 2)))


# ==========================================================================
# 2.3 kmeans
# ==========================================================================

def test_kmeans_hand_default_init_three_iterations():
    # 1-D tokens 0, 2, 3, 10; M = 2 so mu0 = X[0], X[2] = 0, 3.
    X = arr([[[0.0], [2.0], [3.0], [10.0]]])
    # it 1: assign [0,1,1,1] -> mu [0, 5]
    a, mu = ref.kmeans(X, 2, 1)
    assert a.tolist() == [[0, 1, 1, 1]]
    np.testing.assert_array_equal(mu, [[[0.0], [5.0]]])
    # it 2: assign [0,0,1,1] -> mu [1, 6.5]
    a, mu = ref.kmeans(X, 2, 2)
    assert a.tolist() == [[0, 0, 1, 1]]
    np.testing.assert_array_equal(mu, [[[1.0], [6.5]]])
    # it 3: 3 is 2 from 1 and 3.5 from 6.5 -> assign [0,0,0,1] -> [5/3, 10]
    a, mu = ref.kmeans(X, 2, 3)
    assert a.tolist() == [[0, 0, 0, 1]]
    np.testing.assert_allclose(mu, [[[5.0 / 3.0], [10.0]]], rtol=1e-15)
    assert a.dtype == np.int32 and mu.dtype == np.float64


def test_kmeans_default_init_rows_floor():
    # N = 5, M = 3: mu0 rows are floor(0), floor(5/3) = 1, floor(10/3) = 3.
    # With far-apart tokens and distinct rows, token floor(m N / M) is at
    # distance 0 from mu0[m] so it lands in cluster m after one iteration.
    X = arr([[[0.0], [100.0], [101.0], [300.0], [301.0]]])
    a, mu = ref.kmeans(X, 3, 1)
    assert a.tolist() == [[0, 1, 1, 2, 2]]
    np.testing.assert_array_equal(mu, [[[0.0], [100.5], [300.5]]])


def test_kmeans_argmin_tie_goes_to_lower_cluster():
    # token 0 (x=0) is at distance 1 from both centroids -1 and +1.
    X = arr([[[0.0], [-1.0], [1.0]]])
    init = arr([[[-1.0], [1.0]]])
    a, mu = ref.kmeans(X, 2, 1, init=init)
    assert a.tolist() == [[0, 0, 1]]
    np.testing.assert_array_equal(mu, [[[-0.5], [1.0]]])


def test_kmeans_tie_with_duplicate_centroids():
    # Two identical initial centroids: everything goes to cluster 0 and
    # cluster 1 keeps its previous centroid.
    X = arr([[[1.0, 2.0], [3.0, 4.0]]])
    init = arr([[[0.0, 0.0], [0.0, 0.0]]])
    a, mu = ref.kmeans(X, 2, 1, init=init)
    assert a.tolist() == [[0, 0]]
    np.testing.assert_array_equal(mu, [[[2.0, 3.0], [0.0, 0.0]]])


def test_kmeans_empty_cluster_keeps_previous_centroid():
    X = arr([[[0.0], [1.0]]])
    init = arr([[[0.0], [100.0]]])
    a, mu = ref.kmeans(X, 2, 3, init=init)
    assert a.tolist() == [[0, 0]]
    np.testing.assert_array_equal(mu, [[[0.5], [100.0]]])


def test_kmeans_cosine_hand():
    # N = 3, M = 2: mu0 = X[0] = (2, 0), X[1] = (0, 3).
    # xhat = (1, 0), (0, 1), (s, s) with s = 1/sqrt(2).  Token 2 is at
    # 1 - s from both centroids: tie -> cluster 0.  The new centroid 0 is
    # the un-normalised mean of (1, 0) and (s, s).
    X = arr([[[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]]])
    a, mu = ref.kmeans(X, 2, 1, metric="cosine")
    s = 1.0 / math.sqrt(2.0)
    assert a.tolist() == [[0, 1, 0]]
    np.testing.assert_allclose(mu, [[[(1 + s) / 2, s / 2], [0.0, 1.0]]],
                               rtol=0, atol=1e-15)
    assert np.linalg.norm(mu[0, 0]) < 1.0  # stored centroid not normalised


def test_kmeans_cosine_init_used_as_is():
    # Unused cluster 1 keeps its raw (un-normalised) init; the scale of the
    # init does not change the cosine assignment.
    X = arr([[[1.0, 0.0], [2.0, 0.1]]])
    init = arr([[[5.0, 0.0], [0.0, -7.0]]])
    a, mu = ref.kmeans(X, 2, 2, metric="cosine", init=init)
    assert a.tolist() == [[0, 0]]
    np.testing.assert_array_equal(mu[0, 1], [0.0, -7.0])
    a2, _ = ref.kmeans(X, 2, 2, metric="cosine", init=init * 1e-3)
    assert a2.tolist() == a.tolist()


def test_kmeans_cosine_zero_row_uses_eps():
    # A zero row normalises to zero (||v|| clamped at 1e-12): distance 1 to
    # every centroid, so it ties and goes to cluster 0.
    X = arr([[[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]])
    a, mu = ref.kmeans(X, 2, 1, metric="cosine",
                       init=arr([[[1.0, 0.0], [0.0, 1.0]]]))
    assert a.tolist() == [[1, 0, 0]]
    assert np.all(np.isfinite(mu))
    np.testing.assert_array_equal(mu, [[[0.5, 0.0], [0.0, 1.0]]])


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_kmeans_centroids_are_means_of_returned_assignment(rng, metric):
    X = rng.standard_normal((2, 30, 4))
    a, mu = ref.kmeans(X, 5, 4, metric=metric)
    rows = X if metric == "l2" else X / np.linalg.norm(X, axis=2,
                                                        keepdims=True)
    checked = 0
    for b in range(2):
        for m in range(5):
            sel = a[b] == m
            if sel.any():
                np.testing.assert_allclose(mu[b, m], rows[b, sel].mean(0),
                                           rtol=1e-12, atol=1e-14)
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("metric", ["l2", "cosine"])
@pytest.mark.parametrize("use_init", [False, True])
def test_kmeans_vs_naive(rng, metric, use_init):
    X = rng.standard_normal((2, 9, 3))
    init = rng.standard_normal((2, 3, 3)) if use_init else None
    a, mu = ref.kmeans(X, 3, 4, metric=metric, init=init)
    na, nmu = naive_kmeans(X, 3, 4, metric=metric, init=init)
    np.testing.assert_array_equal(a, na)
    np.testing.assert_allclose(mu, nmu, rtol=1e-12, atol=1e-14)


def test_kmeans_errors():
    X = np.zeros((1, 3, 2))
    with pytest.raises(ValueError):
        ref.kmeans(X, 4, 1)                      # M > N
    with pytest.raises(ValueError):
        ref.kmeans(np.zeros((1, 0, 2)), 1, 1)    # N == 0
    with pytest.raises(ValueError):
        ref.kmeans(X, 0, 1)                      # M < 1
    with pytest.raises(ValueError):
        ref.kmeans(X, 2, 0)                      # iterations < 1
    with pytest.raises(ValueError):
        ref.kmeans(X, 2, 1, metric="l1")
    with pytest.raises(ValueError):
        ref.kmeans(X, 2, 1, init=np.zeros((1, 3, 2)))  # wrong init shape


# ==========================================================================
# 2.4 dpc_knn
# ==========================================================================

def test_dpc_hand_1d():
    # C = 1, so D = |x_i - x_j|.  X = 0, 1, 3; k = 2.
    # D = [[0,1,3],[1,0,2],[3,2,0]]
    # rho = exp(-[0.5, 0.5, 2]); rho0 == rho1, 0 is denser (lower index).
    # delta = [max D = 3, D[1,0] = 1, min(3, 2) = 2]
    X = arr([[[0.0], [1.0], [3.0]]])
    d, rho, delta, score = ref._dpc_scores(X[0], 2)
    np.testing.assert_allclose(rho, np.exp([-0.5, -0.5, -2.0]), rtol=1e-15)
    np.testing.assert_array_equal(delta, [3.0, 1.0, 2.0])
    np.testing.assert_allclose(score, [3 * E ** -0.5, E ** -0.5, 2 * E ** -2],
                               rtol=1e-15)
    a, c = ref.dpc_knn(X, [1, 2], k=2)
    assert c.tolist() == [[[0, -1], [0, 1]]]
    assert a.tolist() == [[[0, 0, 0], [0, 1, 1]]]
    assert a.dtype == np.int32 and c.dtype == np.int32


def test_dpc_distance_divides_by_sqrt_c():
    # ||(1,1,1,1) - 0|| = 2, / sqrt(4) = 1.  With k = 2 rho = exp(-1/2).
    X = arr([[[0.0] * 4, [1.0] * 4]])
    d, rho, delta, _ = ref._dpc_scores(X[0], 2)
    np.testing.assert_array_equal(d, [[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(rho, [E ** -0.5] * 2, rtol=1e-15)
    np.testing.assert_array_equal(delta, [1.0, 1.0])


def test_dpc_k_larger_than_n_uses_all_tokens():
    X = arr([[[0.0], [1.0], [3.0]]])
    _, rho, _, _ = ref._dpc_scores(X[0], 5)
    # mean of D^2 over all 3 entries of each row
    np.testing.assert_allclose(rho, np.exp([-10 / 3, -5 / 3, -13 / 3]),
                               rtol=1e-15)
    a5, c5 = ref.dpc_knn(X, [2], k=5)
    a3, c3 = ref.dpc_knn(X, [2], k=3)
    np.testing.assert_array_equal(a5, a3)
    np.testing.assert_array_equal(c5, c3)


def test_dpc_score_tie_goes_to_lower_index():
    # X = -1, 0, 1, k = 2: every rho = exp(-1/2), density order 0, 1, 2.
    # delta = [2, D[1,0] = 1, min(D[2,0], D[2,1]) = 1] -> score 1 ties 2.
    X = arr([[[-1.0], [0.0], [1.0]]])
    _, _, delta, score = ref._dpc_scores(X[0], 2)
    np.testing.assert_array_equal(delta, [2.0, 1.0, 1.0])
    assert score[1] == score[2]
    a, c = ref.dpc_knn(X, [2, 3], k=2)
    assert c.tolist() == [[[0, 1, -1], [0, 1, 2]]]
    # scale 0: token 2 is 2 from centre 0 and 1 from centre 1.
    assert a.tolist() == [[[0, 1, 1], [0, 1, 2]]]


def test_dpc_duplicate_tokens_and_forced_centres():
    # X = 0, 0, 5, k = 2.  Tokens 0 and 1 coincide: rho 1 each (tie, 0 is
    # denser), delta = [5, 0, 5], rho2 = exp(-12.5).
    # score = [5, 0, 5 e^-12.5] -> centres [0, 2, 1].
    # At M = 3 token 1 is at distance 0 from centre 0 and from itself
    # (centre 2): argmin picks m = 0, then forcing sets it to 2.
    X = arr([[[0.0], [0.0], [5.0]]])
    _, rho, delta, _ = ref._dpc_scores(X[0], 2)
    assert rho[0] == rho[1] == 1.0
    np.testing.assert_array_equal(delta, [5.0, 0.0, 5.0])
    a, c = ref.dpc_knn(X, [2, 3], k=2)
    assert c.tolist() == [[[0, 2, -1], [0, 2, 1]]]
    assert a.tolist() == [[[0, 0, 1], [0, 2, 1]]]


def test_dpc_densest_token_gets_global_max_distance():
    # X = -2, 0, 0.5, 3, k = 2.  rho = exp(-[2, 1/8, 1/8, 25/8]); token 1
    # is densest (ties token 2, lower index).  Its own row max is 3 but
    # delta_1 = max over all of D = 5.
    # delta = [min(2, 2.5), 5, D[2,1] = 0.5, min(5, 3, 2.5)]
    X = arr([[[-2.0], [0.0], [0.5], [3.0]]])
    _, rho, delta, score = ref._dpc_scores(X[0], 2)
    np.testing.assert_allclose(rho, np.exp([-2, -1 / 8, -1 / 8, -25 / 8]),
                               rtol=1e-15)
    np.testing.assert_array_equal(delta, [2.0, 5.0, 0.5, 2.5])
    # score = [2e^-2, 5e^-1/8, 0.5e^-1/8, 2.5e^-25/8] -> order 1, 2, 0, 3
    a, c = ref.dpc_knn(X, [4, 2], k=2)
    assert c.tolist() == [[[1, 2, 0, 3], [1, 2, -1, -1]]]
    # scale 1 (centres 1, 2): token 0 -> centre 1 (2 < 2.5); token 3 ->
    # centre 2 (2.5 < 3).
    assert a.tolist() == [[[2, 0, 1, 3], [0, 0, 1, 1]]]


def test_dpc_single_token():
    a, c = ref.dpc_knn(arr([[[3.0, 4.0]]]), [1])
    assert a.tolist() == [[[0]]] and c.tolist() == [[[0]]]


def test_dpc_invariants(rng):
    X = rng.standard_normal((2, 40, 6))
    scales = [3, 10, 1]
    a, c = ref.dpc_knn(X, scales, k=4)
    assert a.shape == (2, 3, 40) and c.shape == (2, 3, 10)
    for b in range(2):
        for s, ms in enumerate(scales):
            ctr = c[b, s, :ms]
            assert np.all(c[b, s, ms:] == -1)          # unused slots
            assert len(set(ctr.tolist())) == ms          # distinct centres
            assert np.all((ctr >= 0) & (ctr < 40))
            assert np.all(a[b, s, ctr] == np.arange(ms))  # forced
            assert np.all((a[b, s] >= 0) & (a[b, s] < ms))
        # scales are nested prefixes of the same score ranking
        assert c[b, 1, :3].tolist() == c[b, 0, :3].tolist()
        assert c[b, 2, 0] == c[b, 0, 0]


def test_dpc_accepts_bare_int_scale(rng):
    X = rng.standard_normal((1, 8, 2))
    a1, c1 = ref.dpc_knn(X, 3)
    a2, c2 = ref.dpc_knn(X, [3])
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(c1, c2)


@pytest.mark.parametrize("k", [1, 3, 5, 20])
def test_dpc_vs_naive(rng, k):
    X = rng.standard_normal((2, 12, 3))
    a, c = ref.dpc_knn(X, [1, 4, 12], k=k)
    na, nc = naive_dpc(X, [1, 4, 12], k)
    np.testing.assert_array_equal(a, na)
    np.testing.assert_array_equal(c, nc)


def test_dpc_vs_naive_with_duplicates(rng):
    base = rng.standard_normal((1, 5, 3))
    X = np.concatenate([base, base[:, ::-1], base[:, :2]], axis=1)  # N=12
    a, c = ref.dpc_knn(X, [2, 6], k=3)
    na, nc = naive_dpc(X, [2, 6], 3)
    np.testing.assert_array_equal(a, na)
    np.testing.assert_array_equal(c, nc)


def test_dpc_errors():
    X = np.zeros((1, 3, 2))
    with pytest.raises(ValueError):
        ref.dpc_knn(X, [4])        # M_s > N
    with pytest.raises(ValueError):
        ref.dpc_knn(X, [2, 0])     # M_s < 1
    with pytest.raises(ValueError):
        ref.dpc_knn(X, [2], k=0)   # k < 1
    with pytest.raises(ValueError):
        ref.dpc_knn(X, [])         # no scale


# ==========================================================================
# 2.5 aggregate
# ==========================================================================

X_AGG = arr([[[1.0, 10.0], [2.0, 20.0], [4.0, 40.0], [8.0, 80.0]]])


def test_aggregate_sum_hand_with_out_of_range():
    assign = np.array([[0, 2, -1, 2]])   # M = 3: cluster 1 empty, -1 dropped
    y = ref.aggregate(X_AGG, assign, 3, "sum")
    np.testing.assert_array_equal(y, [[[1, 10], [0, 0], [10, 100]]])
    # an entry == M (and far above M) contributes nothing either
    y = ref.aggregate(X_AGG, np.array([[0, 3, 99, -7]]), 3, "sum")
    np.testing.assert_array_equal(y, [[[1, 10], [0, 0], [0, 0]]])


def test_aggregate_mean_hand():
    assign = np.array([[1, 1, 3, 0]])    # M = 3: 3 is out of range
    y = ref.aggregate(X_AGG, assign, 3, "mean")
    np.testing.assert_array_equal(y, [[[8, 80], [1.5, 15], [0, 0]]])


def test_aggregate_weighted_mean_hand():
    assign = np.array([[0, 0, 1, -1]])
    w = arr([[1.0, 3.0, 2.0, 100.0]])
    y = ref.aggregate(X_AGG, assign, 2, "weighted_mean", weights=w, eps=0.0)
    np.testing.assert_allclose(y, [[[7 / 4, 70 / 4], [4, 40]]], rtol=1e-15)
    y = ref.aggregate(X_AGG, assign, 2, "weighted_mean", weights=w, eps=1.0)
    np.testing.assert_allclose(y, [[[7 / 5, 70 / 5], [8 / 3, 80 / 3]]],
                               rtol=1e-15)
    # default eps = 1e-6; an empty cluster gives 0 / eps = 0
    y = ref.aggregate(X_AGG, assign, 3, "weighted_mean", weights=w)
    np.testing.assert_allclose(y[0, 0], [7 / (4 + 1e-6), 70 / (4 + 1e-6)],
                               rtol=1e-15)
    np.testing.assert_array_equal(y[0, 2], [0.0, 0.0])


@pytest.mark.parametrize("reduction", ["sum", "mean", "weighted_mean"])
def test_aggregate_non_finite_row_stays_in_its_cluster(reduction):
    X = arr([[[np.inf, 1.0], [2.0, 3.0], [np.nan, 5.0]]])
    assign = np.array([[0, 1, -1]])
    w = arr([[1.0, 1.0, 1.0]]) if reduction == "weighted_mean" else None
    y = ref.aggregate(X, assign, 2, reduction, weights=w, eps=0.0)
    assert y[0, 0, 0] == np.inf
    np.testing.assert_array_equal(y[0, 1], [2.0, 3.0])


@pytest.mark.parametrize("reduction", ["sum", "mean", "weighted_mean"])
def test_aggregate_vs_naive(rng, reduction):
    X = rng.standard_normal((2, 11, 3))
    assign = rng.integers(-2, 6, size=(2, 11)).astype(np.int32)
    w = rng.random((2, 11)) if reduction == "weighted_mean" else None
    y = ref.aggregate(X, assign, 4, reduction, weights=w)
    np.testing.assert_allclose(
        y, naive_aggregate(X, assign, 4, reduction, weights=w),
        rtol=1e-12, atol=1e-14)


def test_aggregate_errors():
    X = np.zeros((1, 2, 2))
    a = np.zeros((1, 2), dtype=np.int32)
    with pytest.raises(ValueError):
        ref.aggregate(X, a, 2, "weighted_mean")              # no weights
    with pytest.raises(ValueError):
        ref.aggregate(X, a, 2, "sum", weights=np.ones((1, 2)))
    with pytest.raises(ValueError):
        ref.aggregate(X, a, 2, "mean", weights=np.ones((1, 2)))
    with pytest.raises(ValueError):
        ref.aggregate(X, a, 2, "max")
    with pytest.raises(ValueError):
        ref.aggregate(X, np.zeros((1, 2)), 2, "sum")         # float assign
    with pytest.raises(ValueError):
        ref.aggregate(X, np.zeros((1, 3), dtype=np.int32), 2, "sum")


# ==========================================================================
# 2.6 broadcast
# ==========================================================================

def test_broadcast_hand_with_out_of_range():
    Y = arr([[[1.0, 2.0], [3.0, 4.0]]])
    assign = np.array([[1, -1, 0, 2, 1]])
    x = ref.broadcast(Y, assign)
    np.testing.assert_array_equal(
        x, [[[3, 4], [0, 0], [1, 2], [0, 0], [3, 4]]])
    assert x.dtype == np.float64


def test_broadcast_inverts_aggregate_mean_on_constant_clusters():
    Y = arr([[[1.0, -1.0], [5.0, 2.0]]])
    assign = np.array([[0, 1, 1, 0]])
    X = ref.broadcast(Y, assign)
    np.testing.assert_array_equal(ref.aggregate(X, assign, 2, "mean"), Y)


def test_broadcast_vs_naive(rng):
    Y = rng.standard_normal((2, 3, 4))
    assign = rng.integers(-2, 5, size=(2, 9))
    np.testing.assert_array_equal(ref.broadcast(Y, assign),
                                  naive_broadcast(Y, assign))


def test_broadcast_errors():
    with pytest.raises(ValueError):
        ref.broadcast(np.zeros((1, 2, 2)), np.zeros((1, 3)))   # float
    with pytest.raises(ValueError):
        ref.broadcast(np.zeros((2, 2, 2)), np.zeros((1, 3), dtype=int))


# ==========================================================================
# 2.7 attention
# ==========================================================================

def test_attention_hand_single_scale():
    Q = arr([[[[1.0, 0.0]]]])                    # [1,1,N=1,D=2]
    K = arr([[[[1.0, 0.0], [0.0, 1.0]]]])        # M = 2
    V = arr([[[[1.0], [0.0]]]])
    o = ref.attention(Q, [(K, V)], scale=1.0)
    np.testing.assert_allclose(o, [[[[E / (E + 1)]]]], rtol=1e-15)
    # default scale 1/sqrt(2)
    a = math.exp(1 / math.sqrt(2))
    o = ref.attention(Q, [(K, V)])
    np.testing.assert_allclose(o, [[[[a / (a + 1)]]]], rtol=1e-15)


def test_attention_hand_two_scales_are_summed():
    Q = arr([[[[LN3]]]])                         # D = 1
    K1, V1 = arr([[[[1.0], [0.0]]]]), arr([[[[1.0], [0.0]]]])
    K2, V2 = arr([[[[0.0]]]]), arr([[[[5.0]]]])  # single cluster
    o = ref.attention(Q, [(K1, V1), (K2, V2)], scale=1.0)
    # scale 1: softmax(ln3, 0) = (3/4, 1/4) -> 0.75; scale 2: 5.
    np.testing.assert_allclose(o, [[[[5.75]]]], rtol=1e-15)


def test_attention_is_stable_for_large_scores():
    Q = arr([[[[1.0]]]])
    K = arr([[[[1000.0], [999.0]]]])
    V = arr([[[[1.0], [0.0]]]])
    o = ref.attention(Q, [(K, V)], scale=1.0)
    np.testing.assert_allclose(o, [[[[E / (E + 1)]]]], rtol=1e-14)


def test_attention_vs_naive(rng):
    B, H, N, D, Dv = 2, 2, 3, 4, 3
    Q = rng.standard_normal((B, H, N, D))
    kv = [(rng.standard_normal((B, H, m, D)),
           rng.standard_normal((B, H, m, Dv))) for m in (1, 5)]
    np.testing.assert_allclose(ref.attention(Q, kv),
                               naive_attention(Q, kv, 1 / math.sqrt(D)),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ref.attention(Q, kv, scale=0.3),
                               naive_attention(Q, kv, 0.3),
                               rtol=1e-12, atol=1e-14)


def test_attention_errors():
    Q = np.zeros((1, 1, 2, 3))
    with pytest.raises(ValueError):
        ref.attention(Q, [])
    with pytest.raises(ValueError):
        ref.attention(Q, [(np.zeros((1, 1, 2, 4)), np.zeros((1, 1, 2, 1)))])
    with pytest.raises(ValueError):
        ref.attention(Q, [(np.zeros((1, 1, 2, 3)), np.zeros((1, 1, 3, 1)))])
    with pytest.raises(ValueError):
        ref.attention(Q, [(np.zeros((1, 1, 2, 3)), np.zeros((1, 1, 2, 1))),
                          (np.zeros((1, 1, 2, 3)), np.zeros((1, 1, 2, 2)))])


# ==========================================================================
# 2.8 topk_members
# ==========================================================================

def test_topk_hand_with_ties():
    # G [1, N=4, M=2]
    G = arr([[[0.5, 1.0],
              [0.9, 1.0],
              [0.5, 0.0],
              [0.1, 1.0]]])
    m = ref.topk_members(G, 3)
    # cluster 0: 0.9 (n1), then the 0.5 tie n0 before n2
    # cluster 1: three-way tie 1.0 -> n0, n1, n3
    assert m.tolist() == [[[1, 0, 2], [0, 1, 3]]]
    assert m.dtype == np.int32


def test_topk_capacity_above_n_pads_with_minus_one():
    G = arr([[[0.2], [0.7]]])
    assert ref.topk_members(G, 4).tolist() == [[[1, 0, -1, -1]]]
    assert ref.topk_members(G, 4, exclusive=True).tolist() == \
        [[[1, 0, -1, -1]]]


def test_topk_exclusive_hand_with_owner_ties():
    G = arr([[[0.5, 0.5],
              [0.1, 0.9],
              [0.7, 0.2],
              [0.8, 0.8],
              [0.0, 0.6]]])
    # owners: n0 -> 0 (0.5/0.5 tie), n1 -> 1, n2 -> 0, n3 -> 0 (0.8/0.8
    # tie), n4 -> 1
    m = ref.topk_members(G, 2, exclusive=True)
    # cluster 0 owns n0 (0.5), n2 (0.7), n3 (0.8); keeps 2: n3, n2
    # cluster 1 owns n1 (0.9), n4 (0.6)
    assert m.tolist() == [[[3, 2], [1, 4]]]
    m = ref.topk_members(G, 4, exclusive=True)
    assert m.tolist() == [[[3, 2, 0, -1], [1, 4, -1, -1]]]


def test_topk_exclusive_value_ties_within_cluster():
    G = arr([[[0.3, 0.0], [0.3, 0.0], [0.9, 1.0], [0.3, 0.1]]])
    # all of n0, n1, n3 owned by 0 with G = 0.3 -> ascending index
    assert ref.topk_members(G, 3, exclusive=True).tolist() == \
        [[[0, 1, 3], [2, -1, -1]]]


def test_topk_exclusive_invariants(rng):
    G = rng.standard_normal((2, 30, 4))
    mem = ref.topk_members(G, 5, exclusive=True)
    for b in range(2):
        toks = mem[b][mem[b] >= 0]
        assert len(set(toks.tolist())) == toks.size   # each token once
        for m in range(4):
            row = mem[b, m][mem[b, m] >= 0]
            assert np.all(np.argmax(G[b, row], axis=1) == m)
            assert np.all(np.diff(G[b, row, m]) <= 0)   # descending
            # valid slots come first
            assert np.all(mem[b, m, row.size:] == -1)


@pytest.mark.parametrize("exclusive", [False, True])
def test_topk_vs_naive(rng, exclusive):
    G = rng.standard_normal((2, 13, 4))
    G[0, 3] = G[0, 7]                  # duplicated rows: exact ties
    G[1, :, 2] = np.round(G[1, :, 2])  # many ties in one column
    np.testing.assert_array_equal(ref.topk_members(G, 5, exclusive),
                                  naive_topk(G, 5, exclusive))
    np.testing.assert_array_equal(ref.topk_members(G, 20, exclusive),
                                  naive_topk(G, 20, exclusive))


def test_topk_errors():
    with pytest.raises(ValueError):
        ref.topk_members(np.zeros((1, 3, 2)), 0)


# ==========================================================================
# 2.9 cluster_attention
# ==========================================================================

def _ca_hand_inputs():
    """B = H = 1, N = 3, M = 2, D = Dv = 1, used with scale = 1.

    V = 1, 2, 3.  Ak column 0 = (ln3, 0, 0) -> weights (3,1,1)/5 -> R0 = 8/5.
    Ak column 1 = (0, 0, ln2) -> weights (1,1,2)/4 -> R1 = 9/4.
    Q = (1, 0, 1), K = (0, ln2, 0).
    """
    Q = arr([1.0, 0.0, 1.0]).reshape(1, 1, 3, 1)
    K = arr([0.0, LN2, 0.0]).reshape(1, 1, 3, 1)
    V = arr([1.0, 2.0, 3.0]).reshape(1, 1, 3, 1)
    Ak = arr([[LN3, 0.0], [0.0, 0.0], [0.0, LN2]]).reshape(1, 1, 3, 2)
    # Aq[0, 0] = 7 is never used while token 0 sits in cluster 0.
    Aq = arr([[7.0, LN2], [0.0, 0.0], [LN3, -5.0]]).reshape(1, 1, 3, 2)
    return Q, K, V, Aq, Ak


def test_cluster_attention_hand():
    Q, K, V, Aq, Ak = _ca_hand_inputs()
    members = np.array([[[0, 1], [2, -1]]])
    # t=0 in cluster 0: e^s = (e^0, e^ln2) = (1, 2); r1 = ln2 -> 2 * R1
    #   (1*1 + 2*2 + 2*9/4) / (1 + 2 + 2) = 9.5 / 5 = 1.9
    # t=1 in cluster 0: Q=0 -> e^s = (1, 1); r1 = 0 -> (1 + 2 + 9/4) / 3
    # t=2 in cluster 1: s = 0 -> 1 * 3; r0 = ln3 -> 3 * 8/5
    #   (3 + 4.8) / 4 = 1.95
    o = ref.cluster_attention(Q, K, V, members, Aq, Ak, scale=1.0)
    np.testing.assert_allclose(o.ravel(), [1.9, 1.75, 1.95], rtol=1e-14)
    o = ref.cluster_attention(Q, K, V, members, Aq, Ak, scale=1.0,
                              summaries=False)
    np.testing.assert_allclose(o.ravel(), [5 / 3, 1.5, 3.0], rtol=1e-14)


def test_cluster_attention_token_in_no_cluster_and_bad_slots():
    Q, K, V, Aq, Ak = _ca_hand_inputs()
    members = np.array([[[0, -1], [2, 3]]])   # 3 == N and -1: empty slots
    # t=0: keys {0} -> 1 * V0; r1 = ln2 -> 2 * 9/4 -> (1 + 4.5) / 3
    # t=1: in no cluster -> softmax(Aq[1]) = (1/2, 1/2) -> (8/5 + 9/4) / 2
    # t=2: keys {2} only (slot 3 ignored) -> 1.95 as before
    o = ref.cluster_attention(Q, K, V, members, Aq, Ak, scale=1.0)
    np.testing.assert_allclose(o.ravel(), [5.5 / 3, 1.925, 1.95],
                               rtol=1e-14)
    o = ref.cluster_attention(Q, K, V, members, Aq, Ak, scale=1.0,
                              summaries=False)
    np.testing.assert_allclose(o.ravel(), [1.0, 0.0, 3.0], rtol=1e-14)


def test_cluster_attention_repeated_token_counts_per_occurrence():
    # Q = K = 0 and no summaries: every o is a plain average of member V.
    # Cluster 0 = [0, 0] -> o_0(0) = V0 = 0, counted twice.
    # Cluster 1 = [0, 1] -> o_1(0) = (0 + 3) / 2 = 1.5, o_1(1) = 1.5.
    # O[0] = (0 + 0 + 1.5) / 3 = 0.5 (it would be 0.75 counting once).
    N, M = 2, 2
    Q = np.zeros((1, 1, N, 1))
    V = arr([0.0, 3.0]).reshape(1, 1, N, 1)
    A = np.zeros((1, 1, N, M))
    members = np.array([[[0, 0], [0, 1]]])
    o = ref.cluster_attention(Q, Q, V, members, A, A, summaries=False)
    np.testing.assert_allclose(o.ravel(), [0.5, 1.5], rtol=1e-15)
    # A repeated member is also a repeated key: cluster [0, 0, 1] gives
    # token 1 weights (1, 1, 1) over values (0, 0, 3) -> 1.
    o = ref.cluster_attention(Q, Q, V, np.array([[[0, 0, 1]]]),
                              A[..., :1], A[..., :1], summaries=False)
    np.testing.assert_allclose(o.ravel(), [1.0, 1.0], rtol=1e-15)


def test_cluster_attention_single_cluster_summaries_are_noop(rng):
    # M = 1: there is no m' != m, so summaries only matter for tokens in
    # no cluster.
    B, H, N, D = 1, 2, 5, 3
    Q, K, V = (rng.standard_normal((B, H, N, D)) for _ in range(3))
    A = rng.standard_normal((B, H, N, 1))
    members = np.array([[[4, 1, 0]]])
    on = ref.cluster_attention(Q, K, V, members, A, A, summaries=True)
    off = ref.cluster_attention(Q, K, V, members, A, A, summaries=False)
    np.testing.assert_array_equal(on[:, :, [0, 1, 4]], off[:, :, [0, 1, 4]])
    assert np.all(off[:, :, [2, 3]] == 0)
    # softmax over one cluster is 1: the output is R[0].
    w = np.exp(A[..., 0] - A[..., 0].max(axis=2, keepdims=True))
    R0 = np.einsum("bhn,bhnd->bhd", w / w.sum(axis=2, keepdims=True), V)
    np.testing.assert_allclose(on[:, :, 2], R0, rtol=1e-13)
    np.testing.assert_allclose(on[:, :, 3], R0, rtol=1e-13)


def test_cluster_attention_full_cluster_without_summaries_is_dense(rng):
    # One cluster holding every token = ordinary softmax attention.
    B, H, N, D = 1, 2, 6, 4
    Q, K, V = (rng.standard_normal((B, H, N, D)) for _ in range(3))
    A = np.zeros((B, H, N, 1))
    members = np.arange(N)[None, None, :]
    o = ref.cluster_attention(Q, K, V, members, A, A, summaries=False)
    np.testing.assert_allclose(o, ref.attention(Q, [(K, V)]), rtol=1e-13)


@pytest.mark.parametrize("summaries", [True, False])
def test_cluster_attention_vs_naive(rng, summaries):
    B, H, N, D, Dv, M, kappa = 2, 2, 9, 3, 2, 3, 4
    Q, K = (rng.standard_normal((B, H, N, D)) for _ in range(2))
    V = rng.standard_normal((B, H, N, Dv))
    Aq, Ak = (rng.standard_normal((B, H, N, M)) * 2 for _ in range(2))
    members = rng.integers(-1, N + 2, size=(B, M, kappa))
    members[0, 0] = [2, 2, 5, -1]            # repeated token
    members[1, 2] = [-1, -1, N, N + 1]        # empty cluster
    o = ref.cluster_attention(Q, K, V, members, Aq, Ak, summaries=summaries)
    no = naive_cluster_attention(Q, K, V, members, Aq, Ak,
                                 1 / math.sqrt(D), summaries)
    np.testing.assert_allclose(o, no, rtol=1e-12, atol=1e-14)


def test_cluster_attention_with_topk_members_vs_naive(rng):
    B, H, N, D, M = 1, 3, 10, 4, 3
    Q, K, V = (rng.standard_normal((B, H, N, D)) for _ in range(3))
    Aq, Ak = (rng.standard_normal((B, H, N, M)) for _ in range(2))
    members = ref.topk_members(Aq.mean(axis=1), 3, exclusive=True)
    o = ref.cluster_attention(Q, K, V, members, Aq, Ak, scale=0.7)
    no = naive_cluster_attention(Q, K, V, members, Aq, Ak, 0.7, True)
    np.testing.assert_allclose(o, no, rtol=1e-12, atol=1e-14)


def test_cluster_attention_errors():
    z4 = np.zeros((1, 1, 3, 2))
    A = np.zeros((1, 1, 3, 2))
    mem = np.zeros((1, 2, 2), dtype=np.int32)
    with pytest.raises(ValueError):     # Aq last dim != M
        ref.cluster_attention(z4, z4, z4, mem, np.zeros((1, 1, 3, 3)), A)
    with pytest.raises(ValueError):     # float members
        ref.cluster_attention(z4, z4, z4, mem.astype(float), A, A)
    with pytest.raises(ValueError):     # K shape
        ref.cluster_attention(z4, np.zeros((1, 1, 4, 2)), z4, mem, A, A)
    with pytest.raises(ValueError):     # members batch
        ref.cluster_attention(z4, z4, z4, np.zeros((2, 2, 2), int), A, A)

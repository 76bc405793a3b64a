"""Float64 NumPy reference ("oracle") for the nine ``clus`` ops.

This module is written directly from the op definitions in
docs/dialect/ClusDialect.md, independently of the compiler, its lowerings
and its runtime.  It is the oracle that every target is compared against
(tolerances in docs/numerics.md).

Conventions shared by every function:

* Float inputs are converted to float64 and float outputs are float64.
  Index outputs are int32.  Index inputs (``assign``, ``members``) must have
  an integer dtype.
* Ties are broken towards the lower index everywhere (argmin, argmax, top-k).
* Every softmax subtracts the maximum before exponentiating.
* Index entries outside their valid range (for example -1) are ignored; they
  are never used to index an array.

The code favours a one-to-one reading of the op formulas over speed, but
loops only over batch items / heads / clusters so that the shapes listed in
docs/numerics.md run in seconds.
"""

import numpy as np

__all__ = [
    "soft_assign",
    "pool",
    "kmeans",
    "dpc_knn",
    "aggregate",
    "broadcast",
    "attention",
    "topk_members",
    "cluster_attention",
]

_NORM_EPS = 1e-12  # eps of the cosine-metric L2 normalisation (clus.kmeans)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _f64(x, name, ndim):
    """Return ``x`` as a float64 array of rank ``ndim``."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have rank {ndim}, got shape {a.shape}")
    return a


def _index(x, name, shape):
    """Return an integer index array as int64, checking dtype and shape."""
    a = np.asarray(x)
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must have an integer dtype, got {a.dtype}")
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, "
                         f"got {a.shape}")
    return a.astype(np.int64)


def _check_shape(a, name, shape):
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, "
                         f"got {a.shape}")


def _softmax(s, axis):
    """Numerically stable softmax along ``axis`` (max subtracted first)."""
    e = np.exp(s - np.max(s, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _l2_normalise(v):
    """Rows of ``v`` divided by max(||row||_2, 1e-12)."""
    norm = np.sqrt(np.sum(v * v, axis=-1, keepdims=True))
    return v / np.maximum(norm, _NORM_EPS)


def _pairwise_dist(x):
    """``D[i, j] = ||x_i - x_j||_2`` computed directly, one row at a time.

    The difference form (not |x|^2 - 2 x.y + |y|^2) gives exact zeros for
    identical rows, so duplicated tokens tie exactly, and D is exactly
    symmetric.
    """
    n = x.shape[0]
    d2 = np.empty((n, n), dtype=np.float64)
    for i in range(n):
        diff = x - x[i]
        d2[i] = np.einsum("jc,jc->j", diff, diff)
    return np.sqrt(d2)


# --------------------------------------------------------------------------
# soft_assign, pool
# --------------------------------------------------------------------------

def soft_assign(logits, axis="tokens"):
    """clus.soft_assign: softmax of ``logits`` [B, M, N].

    ``axis="tokens"``: ``Z[b, m, :] = softmax_n(logits[b, m, :])``.
    ``axis="clusters"``: ``Z[b, :, n] = softmax_m(logits[b, :, n])``.
    """
    s = _f64(logits, "logits", 3)
    if axis == "tokens":
        return _softmax(s, axis=2)
    if axis == "clusters":
        return _softmax(s, axis=1)
    raise ValueError(f"axis must be 'tokens' or 'clusters', got {axis!r}")


def pool(Z, X):
    """clus.pool: ``Y = Z . X`` with Z [B, M, N], X [B, N, C] -> [B, M, C]."""
    z = _f64(Z, "Z", 3)
    x = _f64(X, "X", 3)
    if z.shape[0] != x.shape[0] or z.shape[2] != x.shape[1]:
        raise ValueError(f"pool: incompatible shapes {z.shape} and {x.shape}")
    return np.matmul(z, x)


# --------------------------------------------------------------------------
# kmeans
# --------------------------------------------------------------------------

def _kmeans_dist(pts, mu, metric):
    """[N, M] distances between points and centroids."""
    if metric == "l2":
        # sum((x - mu)^2) directly, one centroid at a time.
        return np.stack([np.sum((pts - mu[m]) ** 2, axis=1)
                         for m in range(mu.shape[0])], axis=1)
    # cosine: pts are already normalised; centroids are normalised here.
    return 1.0 - pts @ _l2_normalise(mu).T


def kmeans(X, clusters, iterations, metric="l2", init=None):
    """clus.kmeans: Lloyd k-means on the tokens of X [B, N, C].

    Returns ``(assign, centroids)``: int32 [B, N] assignment of iteration I
    and float64 [B, M, C] centroids mu^I.

    * ``init`` absent: ``mu0[m] = X[floor(m * N / M)]`` (the raw row).
    * ``l2``: ``dist = sum((x - mu)^2)``.
    * ``cosine``: ``dist = 1 - xhat . muhat`` where rows are normalised as
      ``v / max(||v||, 1e-12)`` before every distance.  The update averages
      the normalised X rows and stores that mean un-normalised.  ``init``
      (or the default mu0) is stored as given.
    * Each iteration: ``assign = argmin_m dist`` (ties -> lower m);
      ``mu[m]`` = mean of the assigned rows, or the previous ``mu[m]`` if
      none is assigned.
    """
    x = _f64(X, "X", 3)
    B, N, C = x.shape
    M = int(clusters)
    n_iter = int(iterations)
    if M < 1:
        raise ValueError(f"kmeans: clusters must be >= 1, got {M}")
    if N == 0:
        raise ValueError("kmeans: X has no tokens (N == 0)")
    if M > N:
        raise ValueError(f"kmeans: clusters ({M}) > tokens ({N})")
    if n_iter < 1:
        raise ValueError(f"kmeans: iterations must be >= 1, got {n_iter}")
    if metric not in ("l2", "cosine"):
        raise ValueError(f"kmeans: metric must be 'l2' or 'cosine', "
                         f"got {metric!r}")

    if init is None:
        mu = x[:, (np.arange(M) * N) // M, :].copy()
    else:
        mu = _f64(init, "init", 3).copy()
        _check_shape(mu, "init", (B, M, C))

    assign = np.empty((B, N), dtype=np.int32)
    for b in range(B):
        pts = x[b] if metric == "l2" else _l2_normalise(x[b])
        mu_b = mu[b]
        for _ in range(n_iter):
            a = np.argmin(_kmeans_dist(pts, mu_b, metric), axis=1)
            new_mu = mu_b.copy()
            for m in range(M):
                sel = a == m
                if np.any(sel):
                    new_mu[m] = np.mean(pts[sel], axis=0)
            mu_b = new_mu
        assign[b] = a
        mu[b] = mu_b
    return assign, mu


# --------------------------------------------------------------------------
# dpc_knn
# --------------------------------------------------------------------------

def _dpc_scores(xb, k):
    """Density-peak quantities of one batch item xb [N, C].

    Returns ``(D, rho, delta, score)`` exactly as clus.dpc_knn defines them.
    """
    n, c = xb.shape
    d = _pairwise_dist(xb) / np.sqrt(c)

    # rho_i = exp(-mean of D^2 over the k smallest D[i, :], self included).
    kk = min(k, n)
    knn = np.partition(d, kk - 1, axis=1)[:, :kk]
    rho = np.exp(-np.mean(knn ** 2, axis=1))

    # Density rank: descending rho, ties -> lower index.  j is denser than
    # i iff rank[j] < rank[i].
    order = np.lexsort((np.arange(n), -rho))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    denser = rank[None, :] < rank[:, None]  # denser[i, j]
    delta = np.min(np.where(denser, d, np.inf), axis=1)
    delta[order[0]] = np.max(d)  # the densest token

    return d, rho, delta, rho * delta


def dpc_knn(X, clusters, k=5):
    """clus.dpc_knn: ClusTR density-peak clustering of X [B, N, C].

    ``clusters`` is the list ``[M_1, ..., M_S]`` (a bare int means one
    scale).  Returns ``(assign, centers)``: int32 [B, S, N] and int32
    [B, S, max M_s] with unused centre slots -1.

    * ``D[i, j] = ||x_i - x_j|| / sqrt(C)``.
    * ``rho_i = exp(-mean D^2 over the min(k, N) smallest D[i, :])``.
    * ``delta_i = min_{j denser than i} D[i, j]``; the densest token gets
      ``max D``.  ``score = rho * delta``.
    * ``centers[s]``: the M_s largest scores, descending, ties -> lower index.
    * ``assign[s][i] = argmin_m D[i, centers[s][m]]`` (ties -> lower m), then
      ``assign[s][centers[s][m]] = m``.
    """
    x = _f64(X, "X", 3)
    B, N, C = x.shape
    scales = [int(clusters)] if np.isscalar(clusters) else \
        [int(m) for m in clusters]
    k = int(k)
    if not scales:
        raise ValueError("dpc_knn: clusters must list at least one scale")
    if k < 1:
        raise ValueError(f"dpc_knn: k must be >= 1, got {k}")
    for m in scales:
        if m < 1 or m > N:
            raise ValueError(f"dpc_knn: every cluster count must be in "
                             f"[1, N={N}], got {m}")
    if C < 1:
        raise ValueError("dpc_knn: X needs at least one channel")

    S = len(scales)
    assign = np.empty((B, S, N), dtype=np.int32)
    centers = np.full((B, S, max(scales)), -1, dtype=np.int32)
    for b in range(B):
        d, _, _, score = _dpc_scores(x[b], k)
        by_score = np.argsort(-score, kind="stable")  # ties -> lower index
        for s, m_s in enumerate(scales):
            ctr = by_score[:m_s]
            a = np.argmin(d[:, ctr], axis=1)  # ties -> lower m
            a[ctr] = np.arange(m_s)
            centers[b, s, :m_s] = ctr
            assign[b, s] = a
    return assign, centers


# --------------------------------------------------------------------------
# aggregate, broadcast
# --------------------------------------------------------------------------

def aggregate(X, assign, clusters, reduction="sum", weights=None, eps=1e-6):
    """clus.aggregate: hard segment reduction of X [B, N, C] into Y [B, M, C].

    * ``sum``: ``Y[m] = sum_{assign[n] = m} X[n]``.
    * ``mean``: that sum divided by ``max(count_m, 1)``.
    * ``weighted_mean``: ``sum w_n X[n] / (sum w_n + eps)`` with
      ``weights`` [B, N]; ``weights`` is required for, and only for, this
      reduction.

    ``assign`` entries outside [0, M) contribute nothing.
    """
    x = _f64(X, "X", 3)
    B, N, C = x.shape
    a = _index(assign, "assign", (B, N))
    M = int(clusters)
    if M < 0:
        raise ValueError(f"aggregate: clusters must be >= 0, got {M}")
    if reduction not in ("sum", "mean", "weighted_mean"):
        raise ValueError(f"aggregate: unknown reduction {reduction!r}")
    if (reduction == "weighted_mean") != (weights is not None):
        raise ValueError("aggregate: weights must be given exactly when "
                         "reduction == 'weighted_mean'")

    w = None
    if reduction == "weighted_mean":
        w = _f64(weights, "weights", 2)
        _check_shape(w, "weights", (B, N))

    out = np.zeros((B, M, C), dtype=np.float64)
    for b in range(B):
        valid = (a[b] >= 0) & (a[b] < M)  # out-of-range entries are dropped
        idx = a[b, valid]
        rows = x[b, valid]
        if reduction == "weighted_mean":
            wb = w[b, valid]
            np.add.at(out[b], idx, wb[:, None] * rows)
            out[b] /= (np.bincount(idx, weights=wb, minlength=M)
                       + float(eps))[:, None]
        else:
            np.add.at(out[b], idx, rows)
            if reduction == "mean":
                count = np.bincount(idx, minlength=M)
                out[b] /= np.maximum(count, 1)[:, None]
    return out


def broadcast(Y, assign):
    """clus.broadcast: ``X[n] = Y[assign[n]]``; zero row if assign[n] is
    not in [0, M).

    Y [B, M, C], assign [B, N] -> X [B, N, C].
    """
    y = _f64(Y, "Y", 3)
    B, M, C = y.shape
    a = np.asarray(assign)
    if a.ndim != 2 or a.shape[0] != B:
        raise ValueError(f"broadcast: assign must have shape [B={B}, N], "
                         f"got {a.shape}")
    a = _index(a, "assign", a.shape)
    N = a.shape[1]
    out = np.zeros((B, N, C), dtype=np.float64)
    for b in range(B):
        valid = (a[b] >= 0) & (a[b] < M)
        out[b, valid] = y[b, a[b, valid]]
    return out


# --------------------------------------------------------------------------
# attention
# --------------------------------------------------------------------------

def attention(Q, kv, scale=None):
    """clus.attention: multi-scale attention of queries against cluster keys.

    Q [B, H, N, D]; ``kv`` is a non-empty list of pairs
    ``(K_s [B, H, M_s, D], V_s [B, H, M_s, Dv])``.
    ``O = sum_s softmax_m(scale * Q . K_s^T) . V_s`` (one softmax per scale,
    outputs summed).  ``scale`` defaults to ``1 / sqrt(D)``.
    """
    q = _f64(Q, "Q", 4)
    B, H, N, D = q.shape
    pairs = list(kv)
    if not pairs:
        raise ValueError("attention: kv needs at least one (K, V) pair")
    scale = 1.0 / np.sqrt(D) if scale is None else float(scale)

    out = None
    for s, (k_s, v_s) in enumerate(pairs):
        k_s = _f64(k_s, f"K_{s}", 4)
        v_s = _f64(v_s, f"V_{s}", 4)
        m_s = k_s.shape[2]
        _check_shape(k_s, f"K_{s}", (B, H, m_s, D))
        if v_s.shape[:3] != (B, H, m_s):
            raise ValueError(f"attention: V_{s} must have shape "
                             f"[{B}, {H}, {m_s}, Dv], got {v_s.shape}")
        if m_s == 0:
            raise ValueError(f"attention: scale {s} has no clusters")
        p = _softmax(scale * (q @ np.swapaxes(k_s, -1, -2)), axis=-1)
        o_s = p @ v_s
        if out is not None and out.shape != o_s.shape:
            raise ValueError("attention: every V_s must have the same Dv")
        out = o_s if out is None else out + o_s
    return out


# --------------------------------------------------------------------------
# topk_members
# --------------------------------------------------------------------------

def topk_members(G, capacity, exclusive=False):
    """clus.topk_members: CAST cluster membership from affinities G [B, N, M].

    Returns int32 members [B, M, kappa]; empty slots are -1.

    * Non-exclusive: ``members[m]`` = the kappa tokens of largest
      ``G[n, m]``, descending, ties -> lower n.
    * Exclusive: ``owner[n] = argmax_m G[n, m]`` (ties -> lower m); cluster
      m keeps up to kappa of its own tokens by descending ``G[n, m]``
      (ties -> lower n).
    """
    g = _f64(G, "G", 3)
    B, N, M = g.shape
    kappa = int(capacity)
    if kappa < 1:
        raise ValueError(f"topk_members: capacity must be >= 1, got {kappa}")

    members = np.full((B, M, kappa), -1, dtype=np.int32)
    if M == 0:
        return members
    for b in range(B):
        if not exclusive:
            # Stable sort of -G along tokens: descending G, ties -> lower n.
            order = np.argsort(-g[b], axis=0, kind="stable")  # [N, M]
            top = order[:kappa]
            members[b, :, :top.shape[0]] = top.T
        else:
            owner = np.argmax(g[b], axis=1)  # ties -> lower m
            for m in range(M):
                own = np.flatnonzero(owner == m)  # ascending n
                keep = own[np.argsort(-g[b, own, m], kind="stable")][:kappa]
                members[b, m, :keep.size] = keep
    return members


# --------------------------------------------------------------------------
# cluster_attention
# --------------------------------------------------------------------------

def cluster_attention(Q, K, V, members, Aq, Ak, scale=None, summaries=True):
    """clus.cluster_attention: clusopt's CAST-style intra-cluster
    attention with summaries.

    Q, K [B, H, N, D]; V [B, H, N, Dv]; members [B, M, kappa] (int);
    Aq, Ak [B, H, N, M].  Returns O [B, H, N, Dv].

    * Members outside [0, N) (e.g. -1) are empty slots, ignored everywhere.
    * ``R[m] = sum_n softmax_n(Ak[:, m])[n] V[n]``.
    * For cluster m and each valid slot with token t, over the valid slots
      u_j of m: ``s_j = scale Q[t].K[u_j]`` and (with summaries)
      ``r_m' = Aq[t, m']`` for m' != m;
      ``o_m(t) = (sum_j e^s_j V[u_j] + sum_m' e^r_m' R[m'])
      / (sum_j e^s_j + sum_m' e^r_m')``, max-subtracted.
    * ``O[t]`` = mean of ``o_m(t)`` over the slot occurrences holding t.  A
      token listed twice in one cluster counts twice: in the mean, and as
      two keys u_j in that cluster's intra scores.
    * A token in no slot: ``sum_m softmax_m(Aq[t, :]) R[m]`` with summaries,
      else 0.
    """
    q = _f64(Q, "Q", 4)
    k = _f64(K, "K", 4)
    v = _f64(V, "V", 4)
    B, H, N, D = q.shape
    _check_shape(k, "K", (B, H, N, D))
    if v.shape[:3] != (B, H, N):
        raise ValueError(f"cluster_attention: V must have shape "
                         f"[{B}, {H}, {N}, Dv], got {v.shape}")
    mem = np.asarray(members)
    if mem.ndim != 3 or mem.shape[0] != B:
        raise ValueError(f"cluster_attention: members must have shape "
                         f"[B={B}, M, kappa], got {mem.shape}")
    M = mem.shape[1]
    mem = _index(mem, "members", mem.shape)
    if M < 1:
        raise ValueError("cluster_attention: needs at least one cluster")
    aq = _f64(Aq, "Aq", 4)
    ak = _f64(Ak, "Ak", 4)
    _check_shape(aq, "Aq", (B, H, N, M))
    _check_shape(ak, "Ak", (B, H, N, M))
    scale = 1.0 / np.sqrt(D) if scale is None else float(scale)

    # Summaries R [B, H, M, Dv]: softmax over all N tokens per cluster.
    r_sum = np.swapaxes(_softmax(ak, axis=2), -1, -2) @ v

    out = np.zeros(v.shape, dtype=np.float64)
    count = np.zeros((B, N), dtype=np.int64)  # slot occurrences per token
    for b in range(B):
        for m in range(M):
            u = mem[b, m]
            u = u[(u >= 0) & (u < N)]  # valid members, slot order kept
            if u.size == 0:
                continue
            others = np.arange(M) != m
            for h in range(H):
                # Row i: query u[i]; columns: intra keys, then summaries.
                logits = scale * (q[b, h, u] @ k[b, h, u].T)
                values = v[b, h, u]
                if summaries:
                    logits = np.concatenate(
                        [logits, aq[b, h][np.ix_(u, others)]], axis=1)
                    values = np.concatenate(
                        [values, r_sum[b, h, others]], axis=0)
                o = _softmax(logits, axis=1) @ values
                np.add.at(out[b, h], u, o)
            np.add.at(count[b], u, 1)

        hit = count[b] > 0
        out[b][:, hit] /= count[b, hit][None, :, None]
        if summaries:
            miss = ~hit
            p = _softmax(aq[b][:, miss, :], axis=-1)  # [H, n_miss, M]
            out[b][:, miss] = p @ r_sum[b]
    return out

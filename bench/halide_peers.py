"""Halide peers: the same algorithms as the clusopt kernels, written as
Halide pipelines and scheduled by an autoscheduler.

Halide orders dims innermost first, so a NumPy array of shape [B, M, N]
is the Halide buffer (n, m, b); the comments below use Halide order.

Scheduling: Adams2019 (with its bundled cost model) first, Mullapudi2016
if that fails, and a plain manual schedule (reductions at root, outer loop
parallel) as the last resort. Which one ran is reported per case, so a
fallback is never mistaken for an autoscheduled result.
"""

import contextlib
import io
import math
import os
import pathlib
import tempfile
import time

import halide as hl
import numpy as np

_PLUGIN_DIR = pathlib.Path(hl.__file__).resolve().parent / "lib64"
_LOADED = set()
TARGET = hl.get_jit_target_from_environment()
INF = float("inf")


def _load_plugin(name):
    if name not in _LOADED:
        hl.load_plugin(str(_PLUGIN_DIR / f"libautoschedule_{name}.so"))
        _LOADED.add(name)


def _param(arr, name):
    """An ImageParam with estimates set from (and bound to) a NumPy array."""
    elem = hl.Int(32) if arr.dtype == np.int32 else hl.Float(32)
    p = hl.ImageParam(elem, arr.ndim, name)
    p.set_estimates([(0, e) for e in reversed(arr.shape)])
    return p


def _select(cond, a, b):
    """hl.select on Exprs. Passed a FuncRef, hl.select picks its Tuple
    overload and returns a Python tuple, so every operand is made an Expr."""
    def expr(v):
        return v if isinstance(v, hl.Expr) else hl.Expr(v)
    return hl.select(expr(cond), expr(a), expr(b))


@contextlib.contextmanager
def _captured_output(sink):
    """Halide's Python binding prints compiler warnings ("Not folding Func
    ...") to sys.stdout, and native code may write to fd 2; keep both out of
    the benchmark's table and hand the text back in `sink` for the log."""
    text = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as tmp, \
            contextlib.redirect_stdout(text), \
            contextlib.redirect_stderr(text):
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            sink.append(text.getvalue() +
                        tmp.read().decode(errors="replace"))


AUTOSCHEDULERS = ("Adams2019", "Mullapudi2016")


def _best_of(fn, calls=3):
    fn()
    best = float("inf")
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


class HalideKernel:
    """A compiled pipeline bound to fixed NumPy inputs and outputs.

    `define()` builds fresh Funcs and returns (outputs, params, manual): a
    Func can be scheduled only once, so every scheduler gets its own copy.
    Each autoscheduler's result is compiled and timed briefly, and the
    faster one is kept: the peer is Halide at its best, not at the mercy of
    one cost model. `schedule` says which one won and what the other did.
    """

    def __init__(self, define, inputs, out_arrays):
        self.errors, self.log = [], []
        self.outputs = out_arrays
        self._keep = inputs
        self._out_bufs = [hl.Buffer(a) for a in out_arrays]
        threads = os.environ.get("HL_NUM_THREADS", "2")
        tried = []
        for name in AUTOSCHEDULERS:
            try:
                with _captured_output(self.log):
                    _load_plugin(name.lower())
                    pipe = self._pipeline(define, inputs)
                    pipe.apply_autoscheduler(TARGET, hl.AutoschedulerParams(
                        name, {"parallelism": threads}))
                    pipe.compile_jit(TARGET)
                    tried.append((self._time(pipe), name, pipe))
            except Exception as e:  # report and try the next one
                self.errors.append(f"{name}: {str(e).strip()[:200]}")
        if not tried:
            with _captured_output(self.log):
                pipe = self._pipeline(define, inputs, manual=True)
                pipe.compile_jit(TARGET)
            tried.append((self._time(pipe), "manual schedule "
                          "(both autoschedulers failed)", pipe))
        tried.sort(key=lambda t: t[0])
        _, self.schedule, self._pipe = tried[0]
        if len(tried) > 1:
            self.schedule += " (faster than " + ", ".join(
                f"{n}: {t * 1e3:.3g} ms" for t, n, _ in tried[1:]) + ")"
        for name in AUTOSCHEDULERS:
            if not any(n == name for _, n, _ in tried):
                self.schedule += f" ({name} failed)"

    def _pipeline(self, define, inputs, manual=False):
        outputs, params, apply_manual = define()
        for f, arr in zip(outputs, self.outputs):
            f.set_estimates([(0, e) for e in reversed(arr.shape)])
        # hl.Buffer wraps NumPy memory without copying (and reverses the
        # axis order, matching the Halide-order definitions).
        for p, arr in zip(params, inputs):
            p.set(hl.Buffer(arr))
        if manual:
            apply_manual()
        return hl.Pipeline(outputs)

    def _time(self, pipe):
        return _best_of(lambda: pipe.realize(self._out_bufs))

    def __call__(self):
        self._pipe.realize(self._out_bufs)
        return self.outputs


def _manual_root(funcs, outputs):
    """Last-resort schedule: every stage at root, outermost dim parallel,
    innermost dim vectorised when wide enough."""
    def apply():
        for f, extent in funcs + outputs:
            args = f.args()
            f.compute_root()
            if len(args) > 1:
                f.parallel(args[-1])
            if extent >= 16:
                f.vectorize(args[0], 16)
    return apply


def pool(logits, x, out):
    return HalideKernel(lambda: _pool(logits, x), [logits, x], [out])


def _pool(logits, x):
    """Y(c, m, b) = Σ_n softmax_n(L(n, m, b)) X(c, n, b)."""
    B, M, N = logits.shape
    C = x.shape[2]
    L, X = _param(logits, "L"), _param(x, "X")
    c, m, n, b = hl.Var("c"), hl.Var("m"), hl.Var("n"), hl.Var("b")
    r = hl.RDom([(0, N)])
    mx, e, s, acc, y = (hl.Func(f) for f in ("mx", "e", "s", "acc", "y"))
    mx[m, b] = hl.maximum(L[r.x, m, b])
    e[n, m, b] = hl.exp(L[n, m, b] - mx[m, b])
    s[m, b] = hl.sum(e[r.x, m, b])
    acc[c, m, b] = hl.sum(e[r.x, m, b] * X[c, r.x, b])
    y[c, m, b] = acc[c, m, b] / s[m, b]
    return [y], [L, X], _manual_root([(mx, M), (s, M), (acc, C)], [(y, C)])


def _attention_funcs(Q, K, V, N, M, D, scale, tag):
    """O(d, n, h, b) = Σ_m softmax_m(scale Q(·, n)·K(·, m)) V(d, m)."""
    d, n, m, h, b = (hl.Var(v) for v in ("d", "n", "m", "h", "b"))
    rd, rm = hl.RDom([(0, D)], f"rd{tag}"), hl.RDom([(0, M)], f"rm{tag}")
    s, mx, e, den, o = (hl.Func(f"{f}{tag}")
                        for f in ("s", "mx", "e", "den", "o"))
    s[m, n, h, b] = hl.f32(scale) * hl.sum(Q[rd.x, n, h, b] * K[rd.x, m, h, b])
    mx[n, h, b] = hl.maximum(s[rm.x, n, h, b])
    e[m, n, h, b] = hl.exp(s[m, n, h, b] - mx[n, h, b])
    den[n, h, b] = hl.sum(e[rm.x, n, h, b])
    o[d, n, h, b] = hl.sum(e[rm.x, n, h, b] * V[d, rm.x, h, b]) / den[n, h, b]
    return o, [(s, M), (mx, N), (den, N)]


def attention(q, kv, out):
    return HalideKernel(lambda: _attention(q, kv), [q, kv], [out])


def _attention(q, kv):
    B, H, N, D = q.shape
    M = kv.shape[2]
    Q, KV = _param(q, "Q"), _param(kv, "KV")
    o, stages = _attention_funcs(Q, KV, KV, N, M, D, 1.0 / math.sqrt(D), "")
    return [o], [Q, KV], _manual_root(stages, [(o, D)])


def paca_fused(logits, x, q, out):
    return HalideKernel(lambda: _paca_fused(logits, x, q), [logits, x, q],
                        [out])


def _paca_fused(logits, x, q):
    """Pooling, head split (pure indexing, no copy), attention."""
    B, M, N = logits.shape
    C = x.shape[2]
    H, D = q.shape[1], q.shape[3]
    L, X, Q = _param(logits, "L"), _param(x, "X"), _param(q, "Q")
    c, m, n, b, d, h = (hl.Var(v) for v in ("c", "m", "n", "b", "d", "h"))
    r = hl.RDom([(0, N)], "rp")
    mx, e, s, acc, y, kv = (hl.Func(f) for f in
                            ("pmx", "pe", "ps", "pacc", "py", "kv"))
    mx[m, b] = hl.maximum(L[r.x, m, b])
    e[n, m, b] = hl.exp(L[n, m, b] - mx[m, b])
    s[m, b] = hl.sum(e[r.x, m, b])
    acc[c, m, b] = hl.sum(e[r.x, m, b] * X[c, r.x, b])
    y[c, m, b] = acc[c, m, b] / s[m, b]
    kv[d, m, h, b] = y[h * D + d, m, b]
    o, stages = _attention_funcs(Q, kv, kv, N, M, D, 1.0 / math.sqrt(D), "a")
    return [o], [L, X, Q], _manual_root(
        [(mx, M), (s, M), (acc, C), (y, C)] + stages, [(o, D)])


def dpc_knn(x, clusters, k, assign_out, centres_out):
    return HalideKernel(lambda: _dpc_knn(x, clusters, k), [x],
                        [assign_out, centres_out])


def _dpc_knn(x, clusters, k):
    """clus.dpc_knn for one scale, B = 1, written for Halide:

    - d2(j, i) = ‖x_i − x_j‖² / C, the squared D; sqrt only where D
      itself is needed (the ordering of D and D² is the same);
    - the k smallest d2 per row by a branchless insertion network in a
      Tuple-valued update (exact with ties);
    - δ² as a masked min; score; the rank of every score (ties → lower
      index), so the centres are the tokens of rank < M and a centre's
      cluster id is its rank;
    - assign = argmin over the centres, centres forced to their own id.

    The schedule decides whether d2 is materialised (N×N) or recomputed.
    """
    B, N, C = x.shape
    if B != 1:
        raise ValueError("the Halide dpc_knn peer is written for B = 1")
    M = clusters
    X = _param(x, "X")
    i, j, m, s, b = (hl.Var(v) for v in ("i", "j", "m", "s", "b"))
    rc, rj = hl.RDom([(0, C)], "rc"), hl.RDom([(0, N)], "rj")
    d2, knn, rho, delta2, dmax2, score, rank, centres, assign = (
        hl.Func(f) for f in ("d2", "knn", "rho", "delta2", "dmax2", "score",
                             "rank", "centres", "assign"))
    diff = X[rc.x, i, 0] - X[rc.x, j, 0]
    d2[j, i] = hl.sum(diff * diff) / C
    # knn(i) holds the k smallest d2(·, i) in ascending order.
    knn[i] = hl.Tuple([hl.f32(INF)] * k)
    v = d2[rj.x, i]
    prev = [knn[i][t] for t in range(k)]
    knn[i] = hl.Tuple([hl.min(prev[0], v)] +
                      [hl.min(prev[t], hl.max(prev[t - 1], v))
                       for t in range(1, k)])
    rho[i] = hl.exp(-sum(knn[i][t] for t in range(k)) / k)
    denser = (rho[rj.x] > rho[i]) | ((rho[rj.x] == rho[i]) & (rj.x < i))
    delta2[i] = hl.minimum(_select(denser, d2[rj.x, i], hl.f32(INF)))
    dmax2[i] = hl.maximum(d2[rj.x, i])
    rall = hl.RDom([(0, N)], "rall")
    top = hl.Func("top")
    top[b] = hl.maximum(dmax2[rall.x])
    # The densest token has no denser one: δ = max D.
    score[i] = rho[i] * hl.sqrt(_select(delta2[i] == INF, top[0],
                                          delta2[i]))
    higher = (score[rj.x] > score[i]) | ((score[rj.x] == score[i]) &
                                         (rj.x < i))
    rank[i] = hl.sum(_select(higher, 1, 0))
    # Scatter: centres(rank) = token, for the M best.
    rs = hl.RDom([(0, N)], "rs")
    rs.where(rank[rs.x] < M)
    centres[m, s, b] = -1
    centres[hl.clamp(rank[rs.x], 0, M - 1), 0, 0] = rs.x
    rm = hl.RDom([(0, M)], "rm")
    nearest = hl.argmin(d2[hl.clamp(centres[rm.x, 0, 0], 0, N - 1), i])
    assign[i, s, b] = _select(rank[i] < M, rank[i], nearest[0])
    roots = [(d2, N), (rho, N), (delta2, N), (dmax2, N), (top, 1),
             (score, N), (rank, N)]
    return [assign, centres], [X], _manual_root(
        roots, [(assign, N), (centres, 1)])


def cluster_attention(q, k, v, members, aq, ak, out):
    inputs = [q, k, v, members, aq, ak]
    return HalideKernel(lambda: _cluster_attention(*inputs), inputs, [out])


def _cluster_attention(q, k, v, members, aq, ak):
    """clus.cluster_attention with summaries, default scale, written for
    Halide: gathers through `members`, a scatter-add update for the
    per-token mean."""
    B, H, N, D = q.shape
    Dv = v.shape[3]
    M, kappa = members.shape[1:]
    scale = 1.0 / math.sqrt(D)
    Q, K, V = _param(q, "Q"), _param(k, "K"), _param(v, "V")
    MEM, AQ, AK = _param(members, "MEM"), _param(aq, "AQ"), _param(ak, "AK")
    d, n, m, m2, h, b, i, j = (hl.Var(x) for x in
                               ("d", "n", "m", "m2", "h", "b", "i", "j"))
    rn, rm, rd, rj = (hl.RDom([(0, e)], nm) for e, nm in
                      ((N, "rn"), (M, "rm"), (D, "rd"), (kappa, "rj")))
    F = {f: hl.Func(f) for f in
         ("akmax", "ake", "aks", "R", "valid", "tok", "s", "r", "mx", "den",
          "o", "acc", "cnt", "aqmax", "aqs", "fb", "out")}
    # Summaries R(d, m, h, b) = Σ_n softmax_n(Ak(m, n)) V(d, n).
    F["akmax"][m, h, b] = hl.maximum(AK[m, rn.x, h, b])
    F["ake"][m, n, h, b] = hl.exp(AK[m, n, h, b] - F["akmax"][m, h, b])
    F["aks"][m, h, b] = hl.sum(F["ake"][m, rn.x, h, b])
    F["R"][d, m, h, b] = (hl.sum(F["ake"][m, rn.x, h, b] * V[d, rn.x, h, b])
                          / F["aks"][m, h, b])
    # Slot i of cluster m holds token tok(i, m, b) when valid.
    F["valid"][i, m, b] = (MEM[i, m, b] >= 0) & (MEM[i, m, b] < N)
    F["tok"][i, m, b] = hl.clamp(MEM[i, m, b], 0, N - 1)
    t = F["tok"][i, m, b]
    # Intra scores s(j, i, m): member j's key against slot i's query.
    F["s"][j, i, m, h, b] = _select(
        F["valid"][j, m, b],
        hl.f32(scale) * hl.sum(Q[rd.x, t, h, b] *
                               K[rd.x, F["tok"][j, m, b], h, b]),
        hl.f32(-INF))
    # Inter scores: Aq of the slot's token against every other cluster.
    F["r"][m2, i, m, h, b] = _select(m2 == m, hl.f32(-INF),
                                       AQ[m2, t, h, b])
    F["mx"][i, m, h, b] = hl.max(hl.maximum(F["s"][rj.x, i, m, h, b]),
                                 hl.maximum(F["r"][rm.x, i, m, h, b]))
    es = hl.exp(F["s"][rj.x, i, m, h, b] - F["mx"][i, m, h, b])
    er = hl.exp(F["r"][rm.x, i, m, h, b] - F["mx"][i, m, h, b])
    F["den"][i, m, h, b] = hl.sum(es) + hl.sum(er)
    F["o"][d, i, m, h, b] = (
        hl.sum(es * V[d, F["tok"][rj.x, m, b], h, b]) +
        hl.sum(er * F["R"][d, rm.x, h, b])) / F["den"][i, m, h, b]
    # Scatter-mean over the slots (i, m) holding each token.
    slots = hl.RDom([(0, kappa), (0, M)], "slots")
    ok = F["valid"][slots.x, slots.y, b]
    F["acc"][d, n, h, b] = hl.f32(0)
    F["acc"][d, F["tok"][slots.x, slots.y, b], h, b] += _select(
        ok, F["o"][d, slots.x, slots.y, h, b], hl.f32(0))
    F["cnt"][n, b] = 0
    F["cnt"][F["tok"][slots.x, slots.y, b], b] += _select(ok, 1, 0)
    # Tokens in no cluster: Σ_m softmax_m(Aq(·, n)) R(m).
    F["aqmax"][n, h, b] = hl.maximum(AQ[rm.x, n, h, b])
    aqe = hl.exp(AQ[rm.x, n, h, b] - F["aqmax"][n, h, b])
    F["aqs"][n, h, b] = hl.sum(aqe)
    F["fb"][d, n, h, b] = (hl.sum(aqe * F["R"][d, rm.x, h, b])
                           / F["aqs"][n, h, b])
    cnt = F["cnt"][n, b]
    F["out"][d, n, h, b] = _select(
        cnt > 0, F["acc"][d, n, h, b] / hl.f32(hl.max(cnt, 1)),
        F["fb"][d, n, h, b])
    roots = [(F[f], e) for f, e in (("R", Dv), ("s", kappa), ("mx", kappa),
                                    ("den", kappa), ("o", Dv), ("acc", Dv),
                                    ("cnt", N), ("fb", Dv))]
    return ([F["out"]], [Q, K, V, MEM, AQ, AK],
            _manual_root(roots, [(F["out"], Dv)]))

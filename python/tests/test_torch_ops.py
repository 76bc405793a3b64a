"""torch.ops.clusopt: every op against the float64 oracle in f32, f16 and
bf16, dynamic shapes through one kernel, torch.compile and torch.export,
and every error the ops raise."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import clusopt  # noqa: E402
from clusopt import reference, toolchain  # noqa: E402
from clusopt.dtypes import from_storage, to_storage  # noqa: E402

ops = pytest.importorskip("clusopt.ops")

TOLERANCE = {"f32": 1e-4, "f16": 2e-2, "bf16": 2e-2}


@pytest.fixture(scope="module", autouse=True)
def _kernel_cache():
    """Kernels compile into a cache in the build tree (reruns are fast),
    unless the caller chose one."""
    if "CLUSOPT_CACHE_DIR" in os.environ:
        yield
        return
    os.environ["CLUSOPT_CACHE_DIR"] = str(toolchain.build_dir() /
                                          "pytest-clusopt-cache")
    yield
    del os.environ["CLUSOPT_CACHE_DIR"]


class Inputs:
    """Random inputs rounded to a dtype: torch tensors for the op and their
    float64 values for the oracle."""

    def __init__(self, seed, dtype):
        self.rng = np.random.default_rng(seed)
        self.dtype = dtype

    def floats(self, shape=None, scale=1.0, values=None):
        v = values if values is not None else \
            scale * self.rng.standard_normal(shape)
        stored = to_storage(v, self.dtype)
        t = torch.from_numpy(stored)
        if self.dtype == "bf16":
            t = t.view(torch.bfloat16)
        return t, from_storage(stored, self.dtype)

    @staticmethod
    def indices(values):
        values = np.asarray(values, dtype=np.int32)
        return torch.from_numpy(values), values


def _check(op, dtype, got, want):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert isinstance(g, torch.Tensor)
        w = np.asarray(w)
        if np.issubdtype(w.dtype, np.integer):
            assert g.dtype == torch.int32
            assert np.array_equal(g.numpy(), w), f"{op}: index mismatch"
            continue
        assert g.dtype == {"f32": torch.float32, "f16": torch.float16,
                           "bf16": torch.bfloat16}[dtype]
        g64 = g.to(torch.float64).numpy()
        assert g64.shape == w.shape
        err = float(np.max(np.abs(g64 - w), initial=0.0))
        bound = TOLERANCE[dtype] * max(1.0, float(np.max(np.abs(w),
                                                          initial=0.0)))
        assert err <= bound, f"{op}: max error {err:.3e} > {bound:.3e}"


def _case(op, dtype, n=13, seed=0):
    """(callable running the op, float64 oracle result, input tensors)."""
    x = Inputs(seed, dtype)
    b, m, c, h, d = 2, 3, 8, 2, 4
    if op == "soft_assign":
        lg, lg64 = x.floats((b, m, n), 3.0)
        return (lambda: ops.soft_assign(lg, axis="clusters"),
                reference.soft_assign(lg64, "clusters"), [lg])
    if op == "pool":
        raw = x.rng.random((b, m, n))
        z, z64 = x.floats(values=raw / raw.sum(-1, keepdims=True))
        t, t64 = x.floats((b, n, c))
        return lambda: ops.pool(z, t), reference.pool(z64, t64), [z, t]
    if op == "kmeans":
        centres = 4.0 * x.rng.standard_normal((b, m, c))
        which = x.rng.integers(0, m, (b, n))
        pts = np.take_along_axis(centres, which[..., None], axis=1)
        t, t64 = x.floats(values=pts + 0.3 * x.rng.standard_normal(pts.shape))
        return (lambda: ops.kmeans(t, m, 4),
                tuple(reference.kmeans(t64, m, 4)), [t])
    if op == "dpc_knn":
        t, t64 = x.floats((b, n, c))
        return (lambda: ops.dpc_knn(t, [2, 3], k=3),
                tuple(reference.dpc_knn(t64, [2, 3], 3)), [t])
    if op == "aggregate":
        t, t64 = x.floats((b, n, c))
        a, a64 = x.indices(x.rng.integers(-1, m + 1, (b, n)))
        w, w64 = x.floats(values=np.exp(x.rng.standard_normal((b, n))))
        return (lambda: ops.aggregate(t, a, m, "weighted_mean", w),
                reference.aggregate(t64, a64, m, "weighted_mean", w64),
                [t, a, w])
    if op == "broadcast":
        y, y64 = x.floats((b, m, c))
        a, a64 = x.indices(x.rng.integers(-1, m + 1, (b, n)))
        return (lambda: ops.broadcast(y, a), reference.broadcast(y64, a64),
                [y, a])
    if op == "attention":
        q, q64 = x.floats((b, h, n, d))
        k1, k164 = x.floats((b, h, m, d))
        v1, v164 = x.floats((b, h, m, 5))
        k2, k264 = x.floats((b, h, 2, d))
        v2, v264 = x.floats((b, h, 2, 5))
        return (lambda: ops.attention(q, [k1, k2], [v1, v2]),
                reference.attention(q64, [(k164, v164), (k264, v264)]),
                [q, k1, v1, k2, v2])
    if op == "topk_members":
        g, g64 = x.floats((b, n, m))
        return (lambda: ops.topk_members(g, 4, exclusive=True),
                reference.topk_members(g64, 4, True), [g])
    assert op == "cluster_attention"
    q, q64 = x.floats((b, h, n, d))
    k, k64 = x.floats((b, h, n, d))
    v, v64 = x.floats((b, h, n, 5))
    mem, mem64 = x.indices(reference.topk_members(
        x.rng.standard_normal((b, n, m)), 4, True))
    aq, aq64 = x.floats((b, h, n, m))
    ak, ak64 = x.floats((b, h, n, m))
    return (lambda: ops.cluster_attention(q, k, v, mem, aq, ak),
            reference.cluster_attention(q64, k64, v64, mem64, aq64, ak64),
            [q, k, v, mem, aq, ak])


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("op", ops.OPS)
def test_op_matches_oracle(op, dtype):
    run, want, inputs = _case(op, dtype)
    before = [t.clone() for t in inputs]
    _check(op, dtype, run(), want)
    for t, b in zip(inputs, before):  # no input was written
        assert t.view(torch.uint8).numpy().tobytes() == \
            b.view(torch.uint8).numpy().tobytes()


@pytest.mark.parametrize("op", ["pool", "attention", "kmeans"])
def test_dynamic_tokens_share_one_kernel(op):
    run, want, _ = _case(op, "f32", n=13, seed=1)
    _check(op, "f32", run(), want)
    count = ops.compiled_kernel_count()
    for n, seed in ((7, 2), (29, 3)):  # ragged token counts, other batch
        run, want, _ = _case(op, "f32", n=n, seed=seed)
        _check(op, "f32", run(), want)
    assert ops.compiled_kernel_count() == count


def test_ops_are_torch_ops():
    assert ops.pool is torch.ops.clusopt.pool
    assert clusopt.ops is ops
    schema = str(torch.ops.clusopt.aggregate.default._schema)
    assert "str reduction=\"sum\"" in schema and "float eps=" in schema
    assert torch.ops.clusopt.aggregate.default._schema.arguments[5].default_value == pytest.approx(1e-6)
    assert "int k=5" in str(torch.ops.clusopt.dpc_knn.default._schema)


class PacaAttention(torch.nn.Module):
    """PaCa attention: soft clustering, pooling, attention to the clusters,
    with linear projections."""

    def __init__(self, dim=16, heads=2, clusters=4):
        super().__init__()
        self.heads = heads
        self.logits = torch.nn.Linear(dim, clusters)
        self.q = torch.nn.Linear(dim, dim)
        self.kv = torch.nn.Linear(dim, 2 * dim)
        self.proj = torch.nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        z = ops.soft_assign(self.logits(x).transpose(1, 2).contiguous())
        centres = ops.pool(z, x)
        k, v = self.kv(centres).chunk(2, dim=-1)

        def split(t):
            return t.reshape(b, -1, self.heads, c // self.heads).transpose(
                1, 2).contiguous()

        o = ops.attention(split(self.q(x)), split(k), split(v))
        return self.proj(o.transpose(1, 2).reshape(b, n, c))


def test_torch_compile_fullgraph():
    torch.manual_seed(0)
    model = PacaAttention().eval()
    x = torch.randn(2, 10, 16)
    with torch.no_grad():
        eager = model(x)
        explanation = torch._dynamo.explain(model)(x)
        assert explanation.graph_break_count == 0
        assert explanation.graph_count == 1
        # Inductor, torch.compile's default: the clus ops stay calls into
        # clusopt around its generated code.
        compiled = torch.compile(model, fullgraph=True)
        assert torch.allclose(compiled(x), eager, atol=1e-5)
        x2 = torch.randn(3, 7, 16)  # another B and N
        assert torch.allclose(compiled(x2), model(x2), atol=1e-5)


def test_torch_export_keeps_single_nodes():
    model = PacaAttention().eval()
    x = torch.randn(2, 10, 16)
    exported = torch.export.export(model, (x,))
    targets = [n.target for n in exported.graph.nodes
               if n.op == "call_function"]
    for op in ("soft_assign", "pool", "attention"):
        assert targets.count(getattr(torch.ops.clusopt, op).default) == 1
    with torch.no_grad():
        assert torch.allclose(exported.module()(x), model(x), atol=1e-5)


def test_backward_is_an_error():
    z = torch.softmax(torch.randn(1, 2, 5), -1).requires_grad_()
    x = torch.randn(1, 5, 3)
    y = ops.pool(z, x)
    with pytest.raises(clusopt.ClusoptError,
                       match="clusopt.pool: clusopt ops are inference only"):
        y.sum().backward()


ERRORS = [
    (lambda t: ops.soft_assign(t["l"], axis="rows"),
     "clusopt.soft_assign: attribute 'axis' must be one of \\['tokens', "
     "'clusters'\\], got 'rows'"),
    (lambda t: ops.kmeans(t["x"], 0, 3),
     "clusopt.kmeans: attribute 'clusters' must be >= 1, got 0"),
    (lambda t: ops.kmeans(t["x"], 2, 0),
     "attribute 'iterations' must be >= 1, got 0"),
    (lambda t: ops.kmeans(t["x"], 2, 3, metric="manhattan"),
     "attribute 'metric' must be one of"),
    (lambda t: ops.kmeans(t["x"], 9, 3),
     "clusopt.kmeans: requires clusters <= tokens \\(M <= N\\), got M = 9 "
     "and N = 5"),
    (lambda t: ops.kmeans(t["x"], 2, 3, init=torch.zeros(1, 3, 3)),
     "dimension 'M' mismatch: attribute 'clusters' is 2 but 'init' has 3 at "
     "axis 1"),
    (lambda t: ops.dpc_knn(t["x"], []),
     "attribute 'clusters' must list at least one scale"),
    (lambda t: ops.dpc_knn(t["x"], [2], k=0),
     "attribute 'k' must be >= 1, got 0"),
    (lambda t: ops.dpc_knn(t["x"], [2, 6]),
     "requires clusters <= tokens \\(M <= N\\), got M = 6 and N = 5"),
    (lambda t: ops.aggregate(t["x"], t["a"], 2, reduction="weighted_mean"),
     "clusopt.aggregate: reduction 'weighted_mean' requires 'weights'"),
    (lambda t: ops.aggregate(t["x"], t["a"], 2, weights=t["w"]),
     "'weights' are only allowed with reduction 'weighted_mean', got 'sum'"),
    (lambda t: ops.aggregate(t["x"], t["a"], 2, reduction="max"),
     "attribute 'reduction' must be one of"),
    (lambda t: ops.aggregate(t["x"], t["a"], 2, eps=-1.0),
     "attribute 'eps' must be finite and >= 0, got -1.0"),
    (lambda t: ops.aggregate(t["x"], t["a"].long(), 2),
     "clusopt.aggregate: 'assign' must be int32, got torch.int64"),
    (lambda t: ops.topk_members(t["l"], 0),
     "clusopt.topk_members: attribute 'capacity' must be >= 1, got 0"),
    (lambda t: ops.attention(t["q"], t["k"], t["v"], scale=float("inf")),
     "clusopt.attention: attribute 'scale' must be finite, got inf"),
    (lambda t: ops.attention(t["q"], [t["k"], t["k"]], [t["v"]]),
     "expects one or more \\[key, value\\] pairs, got 2 keys and 1 values"),
    (lambda t: ops.attention(t["q"], t["k"], t["v"][:, :, :2]),
     "clusopt.attention: dimension 'M0' mismatch: 'keys\\[0\\]' has 3 at "
     "axis 2 but 'values\\[0\\]' has 2 at axis 2"),
    (lambda t: ops.pool(t["l"], t["x"][:, :4]),
     "clusopt.pool: dimension 'N' mismatch: 'z' has 5 at axis 2 but 'x' has "
     "4 at axis 1"),
    (lambda t: ops.pool(t["l"][0], t["x"]),
     "clusopt.pool: 'z' must be a rank-3 tensor \\[B, M, N\\], got shape "
     "\\[2, 5\\]"),
    (lambda t: ops.pool(t["l"].double(), t["x"].double()),
     "clusopt.pool: 'z' must be float32, float16 or bfloat16, got "
     "torch.float64"),
    (lambda t: ops.pool(t["l"], t["x"].half()),
     "clusopt.pool: element type mismatch: 'x' has torch.float16 but 'z' has "
     "torch.float32"),
    (lambda t: ops.cluster_attention(t["q"], t["q"], t["q"],
                                     torch.zeros(1, 2, 2, dtype=torch.int32),
                                     t["aq"], t["aq"][..., :1]),
     "clusopt.cluster_attention: dimension 'M' mismatch: 'members' has 2 at "
     "axis 1 but 'ak' has 1 at axis 3"),
]


@pytest.mark.parametrize("call,message", ERRORS,
                         ids=[str(i) for i in range(len(ERRORS))])
def test_errors_before_any_compile(call, message):
    t = {"l": torch.randn(1, 2, 5), "x": torch.randn(1, 5, 3),
         "a": torch.zeros(1, 5, dtype=torch.int32), "w": torch.ones(1, 5),
         "q": torch.randn(1, 2, 5, 4), "k": torch.randn(1, 2, 3, 4),
         "v": torch.randn(1, 2, 3, 4), "aq": torch.randn(1, 2, 5, 2)}
    count = ops.compiled_kernel_count()
    with pytest.raises(clusopt.ArgumentError, match=message):
        call(t)
    assert ops.compiled_kernel_count() == count


def test_non_tensor_operand():
    # torch's dispatcher checks the schema first and names the argument.
    with pytest.raises(RuntimeError, match="argument 'z'"):
        ops.pool(np.zeros((1, 2, 5), np.float32), torch.randn(1, 5, 3))


def test_wrong_device():
    """The CPU implementation refuses tensors on another device (a CPU-only
    torch has no CUDA tensors: meta tensors stand in for them here)."""
    z = torch.empty(1, 2, 5, device="meta")
    x = torch.empty(1, 5, 3, device="meta")
    with pytest.raises(clusopt.ArgumentError,
                       match="clusopt.pool: 'z' is on device 'meta'; "
                             "clusopt.ops run on CPU tensors"):
        ops._run("pool", [z, x], {})
    # Through the dispatcher a meta tensor gets the fake implementation.
    assert torch.ops.clusopt.pool(z, x).shape == (1, 2, 3)


def test_checked_fast_path_still_checks():
    """After a kernel is cached, calls go through its checked native entry:
    a call that does not fit it still gets the full check's error."""
    z = torch.softmax(torch.randn(1, 2, 5), -1)
    x = torch.randn(1, 5, 3)
    ops.pool(z, x)  # caches the kernel and its entry
    with pytest.raises(clusopt.ArgumentError,
                       match="clusopt.pool: dimension 'N' mismatch: 'z' has 5 "
                             "at axis 2 but 'x' has 4 at axis 1"):
        ops.pool(z, x[:, :4])
    with pytest.raises(clusopt.ArgumentError,
                       match="clusopt.pool: element type mismatch"):
        ops.pool(z, x.half())
    xs = torch.randn(1, 5, 3)
    ops.kmeans(xs, 2, 3)
    with pytest.raises(clusopt.ArgumentError,
                       match=r"requires clusters <= tokens \(M <= N\), got "
                             r"M = 2 and N = 1"):
        ops.kmeans(xs[:, :1], 2, 3)
    assert torch.allclose(ops.pool(z, x), torch.bmm(z, x), atol=1e-6)

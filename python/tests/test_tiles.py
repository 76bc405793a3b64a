"""The optimised CPU kernels are correct for every legal tile shape, not
just the default: register-blocked rows 1-8 and streamed tiles from one
vector up, on shapes that divide no tile. Errors against the float64
oracle use the f32 bound of docs/numerics.md; indices must match exactly."""

import numpy as np
import pytest

from clusopt import kernels, reference
from clusopt.toolchain import Backend, target_runs_here

TILES = ["rows=1 cols=16", "rows=3 cols=16", "rows=5 cols=48",
         "rows=8 cols=64", "rows=2 cols=256"]


def backend(options, target="x86-64-v4"):
    if not target_runs_here(target):
        pytest.skip(f"{target} does not run on this CPU")
    return Backend("clus-cpu-to-llvm", target, options=options)


def assert_close(got, want):
    bound = 1e-4 * max(1.0, float(np.max(np.abs(want))))
    err = float(np.max(np.abs(got.astype(np.float64) - want)))
    assert err <= bound, f"max error {err:.3e} > {bound:.3e}"


@pytest.mark.parametrize("options", TILES)
def test_attention_tiles(options):
    rng = np.random.default_rng(3)
    q = rng.standard_normal((2, 3, 37, 40)).astype(np.float32)
    ks = [rng.standard_normal((2, 3, m, 40)).astype(np.float32)
          for m in (17, 70)]
    vs = [rng.standard_normal((2, 3, m, 24)).astype(np.float32)
          for m in (17, 70)]
    args = [q, ks[0], vs[0], ks[1], vs[1]]
    got, = kernels.run("attention", args, ["f32"] * 5, {},
                       backend=backend(options), dynamic=True)
    want = reference.attention(q.astype(np.float64), list(zip(ks, vs)))
    assert_close(got, want)


@pytest.mark.parametrize("options", TILES)
def test_soft_assign_pool_tiles(options):
    rng = np.random.default_rng(4)
    logits = (10 * rng.standard_normal((2, 11, 203))).astype(np.float32)
    x = rng.standard_normal((2, 203, 35)).astype(np.float32)
    got, = kernels.run("soft_assign_pool", [logits, x], ["f32"] * 2, {},
                       backend=backend(options), dynamic=True)
    want = reference.pool(reference.soft_assign(logits, "tokens"), x)
    assert_close(got, want)


@pytest.mark.parametrize("options", TILES)
def test_dpc_knn_tiles(options):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 150, 19)).astype(np.float32)
    attrs = {"clusters": [7, 30], "k": 4}
    got = kernels.run("dpc_knn", [x], ["f32"], attrs,
                      backend=backend(options), dynamic=True)
    want = reference.dpc_knn(x, attrs["clusters"], attrs["k"])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("target", ["x86-64", "x86-64-v3", "x86-64-v4"])
def test_every_vector_width(target):
    """4, 8 and 16 lanes, each with the default tiles."""
    rng = np.random.default_rng(6)
    q = rng.standard_normal((1, 2, 29, 33)).astype(np.float32)
    k = rng.standard_normal((1, 2, 9, 33)).astype(np.float32)
    v = rng.standard_normal((1, 2, 9, 21)).astype(np.float32)
    got, = kernels.run("attention", [q, k, v], ["f32"] * 3, {},
                       backend=backend("", target), dynamic=True)
    assert_close(got, reference.attention(q.astype(np.float64), [(k, v)]))


@pytest.mark.parametrize("options", TILES)
def test_kmeans_tiles(options):
    rng = np.random.default_rng(7)
    centers = 8 * rng.standard_normal((2, 9, 19))
    x = (centers[:, rng.integers(0, 9, 131)] +
         0.3 * rng.standard_normal((2, 131, 19))).astype(np.float32)
    attrs = {"clusters": 9, "iterations": 4, "metric": "l2"}
    got = kernels.run("kmeans", [x], ["f32"], attrs,
                      backend=backend(options), dynamic=True)
    want = reference.kmeans(x, 9, 4)
    np.testing.assert_array_equal(got[0], want[0])
    assert_close(got[1], want[1])


@pytest.mark.parametrize("options", TILES)
def test_cluster_attention_tiles(options):
    rng = np.random.default_rng(8)
    b, h, n, m, d = 1, 2, 83, 5, 24
    q, k, v = (rng.standard_normal((b, h, n, d)).astype(np.float32)
               for _ in range(3))
    members = reference.topk_members(rng.standard_normal((b, n, m)), 11)
    members[:, 0, -1] = -1
    aq, ak = (rng.standard_normal((b, h, n, m)).astype(np.float32)
              for _ in range(2))
    attrs = {"summaries": True, "scale": None}
    got, = kernels.run("cluster_attention", [q, k, v, members, aq, ak],
                       ["f32"] * 3 + ["i32"] + ["f32"] * 2, attrs,
                       backend=backend(options), dynamic=True)
    want = reference.cluster_attention(q, k, v, members, aq, ak, None, True)
    assert_close(got, want)

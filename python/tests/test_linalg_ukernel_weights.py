"""The micro-kernel GEMM on PyTorch's weight layout: a transposed B
([N, K], contiguous along the reduction axis), which the C ABI packs on
every call, 16x16 blocks at a time where AVX-512 is, and, with fewer rows
than columns and a large B (64k floats or more), one panel per task into
a cache-resident buffer right before its rows use it, splitting the rows
too when there are fewer panels than threads (runtime/ukernels/Gemm.cpp).
Checked against float64 NumPy at shapes around the tiles (8/4-row micro-tiles,
48-column panels with a partial last one, 16-float transposed blocks with
a tail along k), on both sides of the per-task packing's conditions, with
its epilogues, batches, a transposed A, on the AVX2 kernels too, and with
weights changed between calls (nothing about B outlives a call)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import clusopt

from test_linalg_ukernel import check, f64, gelu, gemm_source, rand, t

TRANSPOSED_B = ["(m, n, k) -> (m, k)", "(m, n, k) -> (n, k)",
                "(m, n, k) -> (m, n)"]


def linear_source(m, n, k, epilogue=""):
    """@f(a [m, k], w [n, k], ...) = a · wᵀ (+ epilogue)."""
    return gemm_source([m, k], [n, k], [m, n], maps=TRANSPOSED_B,
                       epilogue=epilogue)


# (M, N, K): one row and column; depths that leave 1, 3 and 8 floats past
# the last 16-float block; B under 64k floats (packed first) and over it
# with fewer rows than columns (packed per task: 50x500x140 with a
# 20-column last panel, 97x200x400, 30x100x1000), more rows than columns
# (packed first); PaCa's stage-3 and stage-4 projections.
SHAPES = [(1, 1, 128), (5, 7, 131), (9, 25, 200), (49, 385, 147),
          (50, 500, 140), (97, 200, 400), (30, 100, 1000), (300, 290, 400),
          (196, 1280, 320), (49, 384, 1536)]


@pytest.mark.parametrize("m,n,k", SHAPES)
def test_linear(m, n, k, tmp_path):
    a, w = rand(m, k, seed=1), rand(n, k, seed=2)
    check(linear_source(m, n, k), [a, w], f64(a) @ f64(w).T, tmp_path)


@pytest.mark.parametrize("epilogue", ["bias", "gelu", "bias_gelu", "residual",
                                      "bias_residual", "bias_residual_gelu"])
# B packed first; packed per task with a partial panel.
@pytest.mark.parametrize("m,n,k", [(50, 29, 150), (97, 220, 400)])
def test_linear_epilogues(epilogue, m, n, k, tmp_path):
    a, w = rand(m, k, seed=3), rand(n, k, seed=4)
    inputs, expected = [a, w], f64(a) @ f64(w).T
    if "bias" in epilogue:
        bias = rand(n, seed=5)
        inputs.append(bias)
        expected = expected + f64(bias)
    if "residual" in epilogue:
        r = rand(m, n, seed=6)
        inputs.append(r)
        expected = expected + f64(r)
    if "gelu" in epilogue:
        expected = gelu(expected)
    check(linear_source(m, n, k, epilogue), inputs, expected, tmp_path)


def test_linear_accumulates(tmp_path):
    """No zero fill: the GEMM adds to its outs (the call's residual is C
    itself), B packed per task."""
    m, n, k = 20, 300, 300
    source = f"""
func.func @f(%a: {t([m, k])}, %w: {t([n, k])}, %c: {t([m, n])})
    -> {t([m, n])} {{
  %g = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
       ins(%a, %w : {t([m, k])}, {t([n, k])}) outs(%c : {t([m, n])})
       -> {t([m, n])}
  return %g : {t([m, n])}
}}
"""
    a, w, c = rand(m, k, seed=7), rand(n, k, seed=8), rand(m, n, seed=9)
    check(source, [a, w, c], f64(c) + f64(a) @ f64(w).T, tmp_path)


def test_transposed_a(tmp_path):
    """A [K, M] is copied into rows first."""
    m, n, k = 21, 17, 140
    maps = ["(m, n, k) -> (k, m)", "(m, n, k) -> (n, k)",
            "(m, n, k) -> (m, n)"]
    a, w = rand(k, m, seed=10), rand(n, k, seed=11)
    check(gemm_source([k, m], [n, k], [m, n], maps=maps), [a, w],
          f64(a).T @ f64(w).T, tmp_path)


@pytest.mark.parametrize("m,n,k", [(10, 19, 130), (10, 100, 300)])
def test_batch_matmul_transposed_b(m, n, k, tmp_path):
    """B per batch: packed first, and (3 batches of 100x300) per task."""
    a, b = rand(3, m, k, seed=12), rand(3, n, k, seed=13)
    maps = ["(b, m, n, k) -> (b, m, k)", "(b, m, n, k) -> (b, n, k)",
            "(b, m, n, k) -> (b, m, n)"]
    check(gemm_source([3, m, k], [3, n, k], [3, m, n],
                      op="linalg.batch_matmul", maps=maps),
          [a, b], np.einsum("bmk,bnk->bmn", f64(a), f64(b)), tmp_path)


def test_dynamic_rows_across_paths(tmp_path):
    """One library, row counts on both sides of the per-task packing's
    condition (fewer rows than the 400 columns) and none at all."""
    k, n = 200, 400
    source = gemm_source([None, k], [n, k], [None, n], maps=TRANSPOSED_B,
                         dims=[("%a", t([None, k]), 0)])
    lib = clusopt.compile(source, cache_dir=tmp_path)
    w = rand(n, k, seed=16)
    for m in (0, 1, 4, 255, 399, 400, 600):
        a = rand(m, k, seed=m)
        got = np.asarray(lib.f(a, w))
        expected = f64(a) @ f64(w).T
        assert got.shape == (m, n)
        assert np.abs(got - expected).max(initial=0.0) <= 1e-4 * max(
            1, np.abs(expected).max(initial=0.0))


def test_weight_changed_between_calls(tmp_path):
    """Nothing derived from B is kept across calls: a weight written in
    place between two calls gives the new product."""
    m, n, k = 49, 400, 384
    lib = clusopt.compile(linear_source(m, n, k), cache_dir=tmp_path)
    a, w = rand(m, k, seed=17), rand(n, k, seed=18)
    first = np.asarray(lib.f(a, w)).copy()
    w[3, :] *= -2.0
    w[:, 100] = 5.0
    second = np.asarray(lib.f(a, w))
    expected = f64(a) @ f64(w).T
    bound = 1e-4 * max(1, np.abs(expected).max())
    assert np.abs(second - expected).max() <= bound
    assert np.abs(first - second).max() > 1.0


PROBE = r"""
import sys, numpy as np, clusopt
lib = clusopt.load(sys.argv[1])
m, n, k = map(int, sys.argv[3:6])
rng = np.random.default_rng(0)
a = rng.standard_normal((m, k)).astype(np.float32)
w = rng.standard_normal((n, k)).astype(np.float32)
bias = rng.standard_normal(n).astype(np.float32)
r = rng.standard_normal((m, n)).astype(np.float32)
np.save(sys.argv[2], np.asarray(lib.f(a, w, bias, r)))
"""


def run_probe(m, n, k, env, tmp_path):
    """a · wᵀ + bias + r then GELU, compiled here and run in a process
    with `env` added to the environment; checked against float64."""
    lib = clusopt.compile(linear_source(m, n, k, "bias_residual_gelu"),
                          cache_dir=tmp_path)
    package_root = os.path.dirname(os.path.dirname(clusopt.__file__))
    env = dict(os.environ, **env, PYTHONPATH=os.pathsep.join(
        [package_root, os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "probe.npy"
    subprocess.run([sys.executable, "-c", PROBE, str(lib.path), str(out),
                    str(m), str(n), str(k)], env=env, check=True)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    r = rng.standard_normal((m, n)).astype(np.float32)
    expected = gelu(f64(a) @ f64(w).T + f64(bias) + f64(r))
    got = np.load(out)
    assert np.abs(got - expected).max() <= 1e-4 * max(1,
                                                      np.abs(expected).max())


@pytest.mark.parametrize("m,n,k", [(97, 200, 400), (60, 230, 1536)])
def test_rows_split_across_threads(m, n, k, tmp_path):
    """On 8 threads, 5 panels are fewer than the threads: the rows are
    split into 3 parts (33, 33, 31 rows) or 2 (30 and 30, with a partial
    last panel), each packing its panel."""
    run_probe(m, n, k, {"OMP_NUM_THREADS": "8"}, tmp_path)


def test_avx2_kernels(tmp_path):
    """The AVX2 kernels and scalar packing (picked with
    CLUSOPT_GEMM_NO_AVX512 on AVX-512 machines), B packed per task, with
    every epilogue."""
    run_probe(23, 400, 200, {"CLUSOPT_GEMM_NO_AVX512": "1"}, tmp_path)

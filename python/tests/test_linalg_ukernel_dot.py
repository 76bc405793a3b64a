"""The micro-kernel's dot-product path: a GEMM whose B has a contiguous
reduction axis (PyTorch's [N, K] weights, a transposed B for linalg) and
few rows (up to 256, or up to 800 from depth 384) runs as dot products of
rows of A with rows of Bᵀ, without packing B (runtime/ukernels/Gemm.cpp,
useDotGemm). Checked against float64 NumPy at shapes around its tiles
(4 or 3 rows, 6 or 3 columns, 24-column tasks, 16- or 8-float vectors
along k), with its epilogues, batches, a transposed A, on the AVX2
kernels too, across its boundary with the packed path, and with weights
changed between calls (nothing about B outlives a call)."""

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


# (M, N, K): one row and column; row tails of 1-3 (4-row tiles), column
# tails of 1-5 (6-column tiles) and of 24-column tasks; depths that leave
# 1, 3 and 8 floats past the last 16-float vector; up to 256 rows (dot)
# and 257 (packed: depth < 384); 300 and 784 rows at depth 384 or more
# (dot); a PaCa stage-4 projection.
SHAPES = [(1, 1, 128), (5, 7, 131), (9, 25, 200), (49, 385, 147),
          (197, 50, 129), (256, 31, 136), (257, 20, 130), (300, 13, 400),
          (784, 11, 385), (49, 384, 1536)]


@pytest.mark.parametrize("m,n,k", SHAPES)
def test_linear(m, n, k, tmp_path):
    a, w = rand(m, k, seed=1), rand(n, k, seed=2)
    check(linear_source(m, n, k), [a, w], f64(a) @ f64(w).T, tmp_path)


@pytest.mark.parametrize("epilogue", ["bias", "gelu", "bias_gelu", "residual",
                                      "bias_residual", "bias_residual_gelu"])
def test_linear_epilogues(epilogue, tmp_path):
    m, n, k = 50, 29, 150  # a 2-row and a 5-column tail
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
    itself)."""
    m, n, k = 13, 27, 160
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
    """A [K, M] is copied into rows, then takes the dot products."""
    m, n, k = 21, 17, 140
    maps = ["(m, n, k) -> (k, m)", "(m, n, k) -> (n, k)",
            "(m, n, k) -> (m, n)"]
    a, w = rand(k, m, seed=10), rand(n, k, seed=11)
    check(gemm_source([k, m], [n, k], [m, n], maps=maps), [a, w],
          f64(a).T @ f64(w).T, tmp_path)


def test_batch_matmul_transposed_b(tmp_path):
    a, b = rand(3, 10, 130, seed=12), rand(3, 19, 130, seed=13)
    maps = ["(b, m, n, k) -> (b, m, k)", "(b, m, n, k) -> (b, n, k)",
            "(b, m, n, k) -> (b, m, n)"]
    check(gemm_source([3, 10, 130], [3, 19, 130], [3, 10, 19],
                      op="linalg.batch_matmul", maps=maps),
          [a, b], np.einsum("bmk,bnk->bmn", f64(a), f64(b)), tmp_path)


def test_dynamic_rows_across_paths(tmp_path):
    """One library, row counts on both sides of the dot path's limit (256
    rows at depth 200) and none at all."""
    k, n = 200, 30
    source = gemm_source([None, k], [n, k], [None, n], maps=TRANSPOSED_B,
                         dims=[("%a", t([None, k]), 0)])
    lib = clusopt.compile(source, cache_dir=tmp_path)
    w = rand(n, k, seed=16)
    for m in (0, 1, 4, 255, 256, 257, 600):
        a = rand(m, k, seed=m)
        got = np.asarray(lib.f(a, w))
        expected = f64(a) @ f64(w).T
        assert got.shape == (m, n)
        assert np.abs(got - expected).max(initial=0.0) <= 1e-4 * max(
            1, np.abs(expected).max(initial=0.0))


def test_weight_changed_between_calls(tmp_path):
    """Nothing derived from B is kept across calls: a weight written in
    place between two calls gives the new product."""
    m, n, k = 49, 40, 384
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


AVX2_PROBE = r"""
import sys, numpy as np, clusopt
lib = clusopt.load(sys.argv[1])
rng = np.random.default_rng(0)
a = rng.standard_normal((23, 141)).astype(np.float32)
w = rng.standard_normal((20, 141)).astype(np.float32)
bias = rng.standard_normal(20).astype(np.float32)
r = rng.standard_normal((23, 20)).astype(np.float32)
np.save(sys.argv[2], np.asarray(lib.f(a, w, bias, r)))
"""


def test_avx2_dot_kernels(tmp_path):
    """The AVX2 dot kernels (3 by 3 tiles, picked with
    CLUSOPT_GEMM_NO_AVX512 on AVX-512 machines) with every epilogue."""
    lib = clusopt.compile(linear_source(23, 20, 141, "bias_residual_gelu"),
                          cache_dir=tmp_path)
    package_root = os.path.dirname(os.path.dirname(clusopt.__file__))
    env = dict(os.environ, CLUSOPT_GEMM_NO_AVX512="1",
               PYTHONPATH=os.pathsep.join(
                   [package_root, os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "avx2.npy"
    subprocess.run([sys.executable, "-c", AVX2_PROBE, str(lib.path), str(out)],
                   env=env, check=True)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((23, 141)).astype(np.float32)
    w = rng.standard_normal((20, 141)).astype(np.float32)
    bias = rng.standard_normal(20).astype(np.float32)
    r = rng.standard_normal((23, 20)).astype(np.float32)
    expected = gelu(f64(a) @ f64(w).T + f64(bias) + f64(r))
    got = np.load(out)
    assert np.abs(got - expected).max() <= 1e-4 * max(1,
                                                      np.abs(expected).max())

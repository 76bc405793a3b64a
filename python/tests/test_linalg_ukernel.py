"""linalg GEMMs compiled by clusopt-compile call the runtime's micro-kernel
(clus-linalg-to-ukernel): matmul, batch_matmul, transposed and broadcast
operands, 1x1 NHWC convolutions and their bias/GELU/residual epilogues,
checked against float64 NumPy at shapes that are not multiples of the
kernels' tiles (8 or 6 rows, 48-column panels), with dynamic M, and with
every input left as it was. The AVX2 kernels are checked too on machines
that would pick the AVX-512 ones (CLUSOPT_GEMM_NO_AVX512)."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import clusopt

ERF = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + ERF(x / math.sqrt(2.0)))


def t(shape):
    return "tensor<" + "x".join("?" if d is None else str(d)
                                for d in shape) + "xf32>"


def zero_filled(c, dims):
    """A zero-filled c (its dynamic sizes from `dims`: `tensor.dim`
    operands, one per '?'), as %acc; its empty tensor is %e."""
    sizes = []
    lines = ["%zero = arith.constant 0.0 : f32"]
    for i, (value, type_, axis) in enumerate(dims):
        lines.append(f"%i{i} = arith.constant {axis} : index")
        lines.append(f"%d{i} = tensor.dim {value}, %i{i} : {type_}")
        sizes.append(f"%d{i}")
    lines.append(f"%e = tensor.empty({', '.join(sizes)}) : {t(c)}")
    lines.append(f"%acc = linalg.fill ins(%zero : f32) outs(%e : {t(c)}) "
                 f"-> {t(c)}")
    return lines


def gemm_source(a, b, c, op="linalg.matmul", maps=None, epilogue="",
                dims=()):
    """@f(a, b[, bias][, residual]) = [GELU](op(a, b) + [bias] +
    [residual]), where `epilogue` names the parts."""
    args = [f"%a: {t(a)}", f"%b: {t(b)}"]
    if "bias" in epilogue:
        args.append(f"%bias: {t([c[-1]])}")
    if "residual" in epilogue:
        args.append(f"%r: {t(c)}")
    body = zero_filled(c, dims)
    attrs = ""
    if op == "linalg.conv_2d_nhwc_hwcf":
        attrs = ("{dilations = dense<1> : tensor<2xi64>, "
                 "strides = dense<1> : tensor<2xi64>} ")
    if maps:
        attrs += ("indexing_maps = [" +
                  ", ".join(f"affine_map<{m}>" for m in maps) + "] ")
    body.append(f"%g = {op} {attrs}ins(%a, %b : {t(a)}, {t(b)}) "
                f"outs(%acc : {t(c)}) -> {t(c)}")
    result = "%g"
    if epilogue:
        rank = len(c)
        dims_text = ", ".join(f"d{i}" for i in range(rank))
        ident = f"affine_map<({dims_text}) -> ({dims_text})>"
        ins, types, maps_e, block = ["%g"], [t(c)], [ident], ["%x: f32"]
        terms = ["%x"]
        if "bias" in epilogue:
            ins.append("%bias")
            types.append(t([c[-1]]))
            maps_e.append(f"affine_map<({dims_text}) -> (d{rank - 1})>")
            block.append("%bv: f32")
            terms.append("%bv")
        if "residual" in epilogue:
            ins.append("%r")
            types.append(t(c))
            maps_e.append(ident)
            block.append("%rv: f32")
            terms.insert(0, "%rv")  # residual + x: either order folds
        maps_e.append(ident)
        block.append("%o: f32")
        ops, acc = [], terms[0]
        for i, term in enumerate(terms[1:]):
            ops.append(f"%s{i} = arith.addf {acc}, {term} : f32")
            acc = f"%s{i}"
        if "gelu" in epilogue:
            # 0.5 · s · (1 + erf(s / √2)), as torch-mlir writes it.
            ops += ["%half = arith.constant 0.5 : f32",
                    "%sqrt2 = arith.constant 1.41421354 : f32",
                    "%one = arith.constant 1.0 : f32",
                    f"%gq = arith.divf {acc}, %sqrt2 : f32",
                    "%ge = math.erf %gq : f32",
                    "%gp = arith.addf %one, %ge : f32",
                    f"%gh = arith.mulf {acc}, %half : f32",
                    "%gy = arith.mulf %gh, %gp : f32"]
            acc = "%gy"
        iterators = ", ".join(['"parallel"'] * rank)
        body.append(
            f"%out = linalg.generic {{indexing_maps = [{', '.join(maps_e)}], "
            f"iterator_types = [{iterators}]}} ins({', '.join(ins)} : "
            f"{', '.join(types)}) outs(%e : {t(c)}) {{\n"
            f"  ^bb0({', '.join(block)}):\n    " + "\n    ".join(ops) +
            f"\n    linalg.yield {acc} : f32\n  }} -> {t(c)}")
        result = "%out"
    body.append(f"return {result} : {t(c)}")
    return (f"func.func @f({', '.join(args)}) -> {t(c)} {{\n  " +
            "\n  ".join(body) + "\n}\n")


def check(source, inputs, expected, tmp_path):
    """Compiles `source`, calls @f on `inputs` and compares with
    `expected` (float64) to 1e-4 · max(1, max |expected|); the inputs
    must be unchanged."""
    lib = clusopt.compile(source, cache_dir=tmp_path)
    before = [x.copy() for x in inputs]
    got = np.asarray(lib.f(*inputs))
    for x, y in zip(inputs, before):
        assert np.array_equal(x, y), "the kernel wrote an input"
    assert got.shape == expected.shape
    bound = 1e-4 * max(1.0, np.abs(expected).max(initial=0.0))
    assert np.abs(got - expected).max(initial=0.0) <= bound


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(
        np.float32)


def f64(x):
    return x.astype(np.float64)


# (M, N, K): tails of 8-row tiles and 48-column panels, one row, one column,
# depth 1, and a PaCa projection.
SHAPES = [(1, 1, 1), (7, 5, 3), (9, 49, 17), (50, 97, 33), (1, 100, 96),
          (197, 96, 96)]


@pytest.mark.parametrize("m,n,k", SHAPES)
def test_matmul(m, n, k, tmp_path):
    a, b = rand(m, k, seed=1), rand(k, n, seed=2)
    check(gemm_source([m, k], [k, n], [m, n]), [a, b], f64(a) @ f64(b),
          tmp_path)


def test_matmul_dynamic_m(tmp_path):
    source = gemm_source([None, 40], [40, 57], [None, 57],
                         dims=[("%a", t([None, 40]), 0)])
    lib = clusopt.compile(source, cache_dir=tmp_path)
    b = rand(40, 57, seed=3)
    for m in (1, 5, 8, 9, 100):
        a = rand(m, 40, seed=m)
        got = np.asarray(lib.f(a, b))
        expected = f64(a) @ f64(b)
        assert np.abs(got - expected).max() <= 1e-4 * max(
            1, np.abs(expected).max())


@pytest.mark.parametrize("transpose_a,transpose_b",
                         [(False, True), (True, False), (True, True)])
def test_matmul_transposed(transpose_a, transpose_b, tmp_path):
    m, n, k = 23, 61, 19
    a_map = "(k, m)" if transpose_a else "(m, k)"
    b_map = "(n, k)" if transpose_b else "(k, n)"
    maps = [f"(m, n, k) -> {a_map}", f"(m, n, k) -> {b_map}",
            "(m, n, k) -> (m, n)"]
    a = rand(*((k, m) if transpose_a else (m, k)), seed=4)
    b = rand(*((n, k) if transpose_b else (k, n)), seed=5)
    expected = (f64(a).T if transpose_a else f64(a)) @ (
        f64(b).T if transpose_b else f64(b))
    check(gemm_source(list(a.shape), list(b.shape), [m, n], maps=maps),
          [a, b], expected, tmp_path)


def test_batch_matmul(tmp_path):
    a, b = rand(3, 13, 17, seed=6), rand(3, 17, 50, seed=7)
    check(gemm_source([3, 13, 17], [3, 17, 50], [3, 13, 50],
                      op="linalg.batch_matmul"),
          [a, b], np.einsum("bmk,bkn->bmn", f64(a), f64(b)), tmp_path)


def test_batch_matmul_transposed_b(tmp_path):
    # Attention's q · kᵀ: B [batch, N, K].
    a, b = rand(2, 9, 48, seed=8), rand(2, 100, 48, seed=9)
    maps = ["(b, m, n, k) -> (b, m, k)", "(b, m, n, k) -> (b, n, k)",
            "(b, m, n, k) -> (b, m, n)"]
    check(gemm_source([2, 9, 48], [2, 100, 48], [2, 9, 100],
                      op="linalg.batch_matmul", maps=maps),
          [a, b], np.einsum("bmk,bnk->bmn", f64(a), f64(b)), tmp_path)


def test_batch_matmul_shared_b(tmp_path):
    # A projection of a batch of token sets: one 2-D weight.
    a, b = rand(4, 11, 30, seed=10), rand(30, 52, seed=11)
    maps = ["(b, m, n, k) -> (b, m, k)", "(b, m, n, k) -> (k, n)",
            "(b, m, n, k) -> (b, m, n)"]
    check(gemm_source([4, 11, 30], [30, 52], [4, 11, 52],
                      op="linalg.batch_matmul", maps=maps),
          [a, b], np.einsum("bmk,kn->bmn", f64(a), f64(b)), tmp_path)


def test_conv_1x1(tmp_path):
    x, w = rand(2, 5, 7, 13, seed=12), rand(1, 1, 13, 50, seed=13)
    check(gemm_source([2, 5, 7, 13], [1, 1, 13, 50], [2, 5, 7, 50],
                      op="linalg.conv_2d_nhwc_hwcf"),
          [x, w], np.einsum("nhwc,cf->nhwf", f64(x), f64(w[0, 0])), tmp_path)


@pytest.mark.parametrize("epilogue", ["bias", "gelu", "bias_gelu", "residual",
                                      "bias_residual", "bias_residual_gelu"])
def test_matmul_epilogues(epilogue, tmp_path):
    m, n, k = 37, 100, 29  # the last panel has 4 columns
    a, b = rand(m, k, seed=14), rand(k, n, seed=15)
    inputs, expected = [a, b], f64(a) @ f64(b)
    if "bias" in epilogue:
        bias = rand(n, seed=16)
        inputs.append(bias)
        expected = expected + f64(bias)
    if "residual" in epilogue:
        r = rand(m, n, seed=17)
        inputs.append(r)
        expected = expected + f64(r)
    if "gelu" in epilogue:
        expected = gelu(expected)
    check(gemm_source([m, k], [k, n], [m, n], epilogue=epilogue), inputs,
          expected, tmp_path)


def test_conv_1x1_bias_gelu(tmp_path):
    x, w = rand(1, 6, 6, 24, seed=18), rand(1, 1, 24, 96, seed=19)
    bias = rand(96, seed=20)
    expected = gelu(np.einsum("nhwc,cf->nhwf", f64(x), f64(w[0, 0])) +
                    f64(bias))
    check(gemm_source([1, 6, 6, 24], [1, 1, 24, 96], [1, 6, 6, 96],
                      op="linalg.conv_2d_nhwc_hwcf", epilogue="bias_gelu"),
          [x, w, bias], expected, tmp_path)


def test_one_call(tmp_path):
    """The GEMM and its bias+GELU epilogue are one micro-kernel call in
    clusopt-compile's output (the lit test clus-linalg-to-ukernel.mlir
    shows the epilogue folded into it)."""
    source = gemm_source([37, 29], [29, 100], [37, 100], epilogue="bias_gelu")
    path = tmp_path / "k.mlir"
    path.write_text(source)
    compiler = clusopt.compiler.compiler_path()
    proc = subprocess.run([compiler, str(path), "--emit=mlir", "-o", "-"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.count("llvm.call @clusopt_ukernel_gemm_f32(") == 1


AVX2_PROBE = r"""
import sys, numpy as np, clusopt
lib = clusopt.load(sys.argv[1])
rng = np.random.default_rng(0)
a = rng.standard_normal((29, 33)).astype(np.float32)
b = rng.standard_normal((33, 100)).astype(np.float32)
bias = rng.standard_normal(100).astype(np.float32)
np.save(sys.argv[2], np.asarray(lib.f(a, b, bias)))
"""


def test_avx2_kernels_agree(tmp_path):
    """The AVX2 micro-kernels (picked on any machine with
    CLUSOPT_GEMM_NO_AVX512) give the float64 result too."""
    source = gemm_source([29, 33], [33, 100], [29, 100], epilogue="bias_gelu")
    lib = clusopt.compile(source, cache_dir=tmp_path)
    package_root = os.path.dirname(os.path.dirname(clusopt.__file__))
    env = dict(os.environ, CLUSOPT_GEMM_NO_AVX512="1",
               PYTHONPATH=os.pathsep.join(
                   [package_root, os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "avx2.npy"
    subprocess.run([sys.executable, "-c", AVX2_PROBE, str(lib.path), str(out)],
                   env=env, check=True)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((29, 33)).astype(np.float32)
    b = rng.standard_normal((33, 100)).astype(np.float32)
    bias = rng.standard_normal(100).astype(np.float32)
    expected = gelu(f64(a) @ f64(b) + f64(bias))
    got = np.load(out)
    assert np.abs(got - expected).max() <= 1e-4 * max(1,
                                                      np.abs(expected).max())

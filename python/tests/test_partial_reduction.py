"""Split reductions of clus.pool (over tokens) and clus.attention (over keys):
a kernel is split with upstream's transform.structured.
tile_reduction_using_for (PartialReductionOpInterface), compiled through the
reference pipeline and compared with the float64 NumPy oracle and with the
same kernel unsplit. Chunk sizes that do not divide the axis leave a short
last chunk; attention's merge rescales the running sums of every chunk."""

import ctypes
import subprocess

import numpy as np
import pytest

from clusopt import kernels, reference, toolchain
from clusopt.dtypes import from_storage, numpy_dtype, to_storage

TOLERANCE = {"f32": 1e-4, "f16": 2e-2, "bf16": 2e-2}

# tile_reduction_using_for splits the op's last domain dim (tokens of pool,
# keys of attention) into chunks of `tile` carried through an scf.for; pool
# has one partial (fill), attention three (accumulator, max, sum).
SPLIT = """
module attributes {{transform.with_named_sequence}} {{
  transform.named_sequence @__transform_main(
      %root: !transform.any_op {{transform.readonly}}) {{
    %op = transform.structured.match ops{{["clus.{op}"]}} in %root
        : (!transform.any_op) -> !transform.any_op
    %fill{fills}, %split, %merge, %loop =
        transform.structured.tile_reduction_using_for %op
        by tile_sizes = [0, 0, 0, {tile}]
        : (!transform.any_op) -> ({handles})
    transform.yield
  }}
}}
"""


def split(src, op, tile, tmp_path):
    fills = {"pool": 1, "attention": 3}[op]
    library = tmp_path / "split.mlir"
    library.write_text(SPLIT.format(
        op=op, tile=tile, fills="" if fills == 1 else f":{fills}",
        handles=", ".join(["!transform.any_op"] * (fills + 3))))
    opt = toolchain.build_dir() / "bin" / "clusopt-opt"
    proc = subprocess.run(
        [str(opt), "-",
         f"--transform-preload-library=transform-library-paths={library}",
         "--transform-interpreter", "--canonicalize"],
        input=src, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def run(src, args, result_shape, dtype):
    """Compiles `src` (a kernels.kernel_source-style @kernel) with the
    reference pipeline and runs it on `args`; the output starts as NaN."""
    path = toolchain.Backend().compile(src)
    lib = ctypes.CDLL(str(path))
    fn = lib._mlir_ciface_kernel
    fn.restype = None
    out = np.empty(result_shape, numpy_dtype(dtype))
    out.view(np.uint8).fill(0xFF)
    descs = [kernels._descriptor(np.ascontiguousarray(a))
             for a in list(args) + [out]]
    fn(*[ctypes.byref(d) for d in descs])
    return from_storage(out, dtype)


def check(got, want, dtype, what):
    assert np.all(np.isfinite(got)), f"{what}: non-finite output"
    err = float(np.max(np.abs(got - want)))
    bound = TOLERANCE[dtype] * max(1.0, float(np.max(np.abs(want))))
    assert err <= bound, f"{what}: max error {err:.3e} > {bound:.3e}"


def split_and_compare(op, args, dtype, attrs, want, tile, tmp_path,
                      dynamic=False):
    shapes = [a.shape for a in args]
    src, results = kernels.kernel_source(op, shapes, [dtype] * len(args),
                                         attrs, dynamic)
    (shape, _, _), = results
    split_src = split(src, op, tile, tmp_path)
    # The split happened: a loop over chunks, the op (pool) or the online
    # softmax (attention) inside it, and the merge after it.
    assert "scf.for" in split_src
    if op == "pool":
        assert split_src.count("clus.pool") == 1
    else:
        assert "clus.attention" not in split_src and "math.exp" in split_src
    whole = run(src, args, shape, dtype)
    parts = run(split_src, args, shape, dtype)
    check(whole, want, dtype, f"{op} unsplit")
    check(parts, want, dtype, f"{op} split by {tile}")


@pytest.mark.parametrize("dtype,dynamic,tile", [
    ("f32", False, 4), ("f32", True, 7), ("f16", False, 3),
    ("bf16", True, 16)])
def test_pool_split_over_tokens(dtype, dynamic, tile, tmp_path):
    rng = np.random.default_rng(7)
    z = to_storage(rng.standard_normal((2, 5, 22)), dtype)
    x = to_storage(rng.standard_normal((2, 22, 12)), dtype)
    want = reference.pool(from_storage(z, dtype), from_storage(x, dtype))
    split_and_compare("pool", [z, x], dtype, {}, want, tile, tmp_path,
                      dynamic)


@pytest.mark.parametrize("dtype,dynamic,tile,scale", [
    ("f32", False, 4, None), ("f32", True, 3, 0.3), ("f16", False, 8, None),
    ("bf16", True, 5, 0.5)])
def test_attention_split_over_keys(dtype, dynamic, tile, scale, tmp_path):
    rng = np.random.default_rng(11)
    # Scores spread over several units, so the chunks' maxima differ and
    # the merge's rescaling matters.
    q = to_storage(2.0 * rng.standard_normal((1, 2, 9, 16)), dtype)
    k = to_storage(2.0 * rng.standard_normal((1, 2, 13, 16)), dtype)
    v = to_storage(rng.standard_normal((1, 2, 13, 6)), dtype)
    exact = [from_storage(a, dtype) for a in (q, k, v)]
    want = reference.attention(exact[0], [(exact[1], exact[2])], scale)
    split_and_compare("attention", [q, k, v], dtype, {"scale": scale}, want,
                      tile, tmp_path, dynamic)

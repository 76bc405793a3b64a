"""The clusopt side of the benchmark: MLIR sources and a ctypes caller.

Kernels are written in destination-passing style, like the numerics harness
(python/clusopt/kernels.py): inputs are tensors, outputs caller-owned
memrefs. Shapes are static, because a deployed model knows them and the
optimised pipeline specialises on them.
"""

import ctypes
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python"))

from clusopt import toolchain  # noqa: E402
from clusopt.kernels import _descriptor, kernel_source  # noqa: E402
from clusopt.toolchain import Backend  # noqa: E402


def select_target(override=None, features=None):
    """The x86-64 level the kernels are built for: `override` when given
    (it must run on this CPU), else the widest level of a CPU with
    `features` (default: this machine's): x86-64-v4 where it has AVX-512
    F/BW/DQ/VL, else x86-64-v3 (AVX2), else x86-64."""
    if override is None or override == "host":
        return toolchain.host_target(features)
    Backend("clus-to-llvm", override)  # rejects an unknown target
    if features is None and not toolchain.target_runs_here(override):
        raise SystemExit(f"--target={override}: this CPU cannot run "
                         f"{toolchain.isa_name(override)} code")
    return override


def use_target(target):
    """Builds the optimised pipeline (tiled, vectorised, OpenMP) and the
    reference lowering for `target` from now on."""
    global TARGET, OPTIMISED, REFERENCE
    TARGET = target
    OPTIMISED = Backend("clus-cpu-to-llvm", target)
    REFERENCE = Backend("clus-to-llvm", target)


use_target(select_target())


def _t(shape, elem="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + f"x{elem}>"


def _m(shape, elem="f32"):
    return "memref<" + "x".join(str(d) for d in shape) + f"x{elem}>"


def _store(value, out, shape):
    return (f"  bufferization.materialize_in_destination {value} in restrict "
            f"writable {out} : ({_t(shape)}, {_m(shape)}) -> ()")


def pool_source(B, M, N, C):
    """Y = pool(soft_assign(logits), X): the pair the CPU pipeline fuses
    into one online-softmax pass."""
    lg, x, y = (B, M, N), (B, N, C), (B, M, C)
    return "\n".join([
        f"func.func @kernel(%logits: {_t(lg)}, %x: {_t(x)}, "
        f"%out: {_m(y)}) {{",
        f"  %z_init = tensor.empty() : {_t(lg)}",
        f"  %z = clus.soft_assign %logits outs(%z_init) : {_t(lg)}",
        f"  %y_init = tensor.empty() : {_t(y)}",
        f"  %y = clus.pool %z, %x outs(%y_init) : {_t(lg)}, {_t(x)} -> "
        f"{_t(y)}",
        _store("%y", "%out", y),
        "  return", "}", ""])


def attention_source(B, H, N, M, D):
    """O = attention(Q, [KV, KV]): K and V are the same cluster tokens, as in
    PaCa, passed once."""
    q, kv = (B, H, N, D), (B, H, M, D)
    return "\n".join([
        f"func.func @kernel(%q: {_t(q)}, %kv: {_t(kv)}, %out: {_m(q)}) {{",
        f"  %o_init = tensor.empty() : {_t(q)}",
        f"  %o = clus.attention %q, [%kv, %kv] outs(%o_init) : {_t(q)}, "
        f"[{_t(kv)}, {_t(kv)}] -> {_t(q)}",
        _store("%o", "%out", q),
        "  return", "}", ""])


def paca_fused_source(B, M, N, C, H):
    """The PaCa layer without its projections: soft clustering, pooling,
    the head split of the cluster tokens, and attention of every token
    against them, in one function so the pipeline sees the whole chain."""
    D = C // H
    lg, x, q, y = (B, M, N), (B, N, C), (B, H, N, D), (B, M, C)
    split, kv = (B, M, H, D), (B, H, M, D)
    return "\n".join([
        f"func.func @kernel(%logits: {_t(lg)}, %x: {_t(x)}, %q: {_t(q)}, "
        f"%out: {_m(q)}) {{",
        f"  %z_init = tensor.empty() : {_t(lg)}",
        f"  %z = clus.soft_assign %logits outs(%z_init) : {_t(lg)}",
        f"  %y_init = tensor.empty() : {_t(y)}",
        f"  %y = clus.pool %z, %x outs(%y_init) : {_t(lg)}, {_t(x)} -> "
        f"{_t(y)}",
        f"  %s = tensor.expand_shape %y [[0], [1], [2, 3]] output_shape "
        f"[{B}, {M}, {H}, {D}] : {_t(y)} into {_t(split)}",
        f"  %e = tensor.empty() : {_t(kv)}",
        f"  %kv = linalg.transpose ins(%s : {_t(split)}) outs(%e : {_t(kv)}) "
        f"permutation = [0, 2, 1, 3]",
        f"  %o_init = tensor.empty() : {_t(q)}",
        f"  %o = clus.attention %q, [%kv, %kv] outs(%o_init) : {_t(q)}, "
        f"[{_t(kv)}, {_t(kv)}] -> {_t(q)}",
        _store("%o", "%out", q),
        "  return", "}", ""])


def dpc_knn_source(B, N, C, clusters, k):
    src, _ = kernel_source("dpc_knn", [(B, N, C)], ["f32"],
                           {"clusters": list(clusters), "k": k}, False)
    return src


def cluster_attention_source(B, H, N, D, M, kappa):
    shapes = [(B, H, N, D)] * 3 + [(B, M, kappa)] + [(B, H, N, M)] * 2
    elems = ["f32"] * 3 + ["i32"] + ["f32"] * 2
    src, _ = kernel_source("cluster_attention", shapes, elems, {}, False)
    return src


class Kernel:
    """One compiled kernel bound to fixed input and output arrays.

    The memref descriptors are built once, so a timed call is just the
    foreign call: what a runtime that owns its buffers would pay.
    """

    def __init__(self, source, backend, inputs, outputs):
        self.path = backend.compile(source)
        # Keep the library object alive as long as the function pointer.
        self._lib = ctypes.CDLL(str(self.path))
        self._fn = self._lib._mlir_ciface_kernel
        self._fn.restype = None
        self.inputs = [np.ascontiguousarray(a) for a in inputs]
        self.outputs = outputs
        self._descs = [_descriptor(a) for a in self.inputs + self.outputs]
        self._args = [ctypes.byref(d) for d in self._descs]

    def __call__(self):
        self._fn(*self._args)
        return self.outputs

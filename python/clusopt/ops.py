"""The nine clus ops as PyTorch custom ops: `torch.ops.clusopt.<op>`.

    import clusopt.ops                       # imports torch, registers ops
    y = clusopt.ops.pool(z, x)               # = torch.ops.clusopt.pool
    o = clusopt.ops.attention(q, k, v)       # one scale, or lists of k and v

Each op runs clusopt's optimised CPU kernel, compiled on first use (through
`clusopt.compile`, so also cached on disk) per op, attributes, dtype and
shape class: batch (B) and token (N) dims are dynamic, the others (clusters,
channels, heads, head dims) static, so one kernel serves every B and N.
Float operands are torch.float32, float16 or bfloat16 (all the same);
index operands and results are torch.int32. Attributes take the dialect's
defaults. Calls are checked like the dialect's verifier (ranks, dims,
dtypes, attributes) before anything is compiled, and raise
clusopt.ArgumentError naming the operand or attribute.

Fake (meta) implementations give result shapes, so `torch.compile` and
`torch.export` keep each op as one node. The ops are inference only: a
backward pass through one raises clusopt.ClusoptError.
"""

import math
import os
import threading

import torch

# torch's ATen ops run on its OpenMP pool (libgomp) and the kernels on
# clusopt's (libomp). Both keep their workers spinning after a parallel
# region by default, so on a few cores each pool's spinning slows the
# other's next op (several-fold on 2 cores). Kernels called among torch ops
# put their workers to sleep at once instead. Read when libomp starts, i.e.
# at the first kernel call; a value the user set is kept.
os.environ.setdefault("KMP_BLOCKTIME", "0")

from . import compiler, kernels
from .errors import ArgumentError, ClusoptError

_FLOAT_DTYPES = {torch.float32: "f32", torch.float16: "f16",
                 torch.bfloat16: "bf16"}
# Dims one compiled kernel leaves dynamic: everything else is static.
_DYNAMIC_DIMS = {"B", "N"}
_INT32_MAX = 2 ** 31 - 1


class Operand:
    """An operand's name, dims (as the verifier names them) and kind."""

    def __init__(self, name, dims, kind="float"):
        self.name, self.dims, self.kind = name, dims.split(), kind


_OPERANDS = {
    "soft_assign": [Operand("logits", "B M N")],
    "pool": [Operand("z", "B M N"), Operand("x", "B N C")],
    "kmeans": [Operand("x", "B N C"), Operand("init", "B M C")],
    "dpc_knn": [Operand("x", "B N C")],
    "aggregate": [Operand("x", "B N C"), Operand("assign", "B N", "i32"),
                  Operand("weights", "B N")],
    "broadcast": [Operand("y", "B M C"), Operand("assign", "B N", "i32")],
    "topk_members": [Operand("g", "B N M")],
    "cluster_attention": [Operand("q", "B H N D"), Operand("k", "B H N D"),
                          Operand("v", "B H N Dv"),
                          Operand("members", "B M kappa", "i32"),
                          Operand("aq", "B H N M"), Operand("ak", "B H N M")],
}

_SCHEMAS = {
    "soft_assign": "(Tensor logits, str axis='tokens') -> Tensor",
    "pool": "(Tensor z, Tensor x) -> Tensor",
    "kmeans": ("(Tensor x, int clusters, int iterations, str metric='l2', "
               "Tensor? init=None) -> (Tensor, Tensor)"),
    "dpc_knn": "(Tensor x, int[] clusters, int k=5) -> (Tensor, Tensor)",
    "aggregate": ("(Tensor x, Tensor assign, int clusters, "
                  "str reduction='sum', Tensor? weights=None, "
                  "float eps=1e-06) -> Tensor"),
    "broadcast": "(Tensor y, Tensor assign) -> Tensor",
    "attention": ("(Tensor q, Tensor[] keys, Tensor[] values, "
                  "float? scale=None) -> Tensor"),
    "topk_members": ("(Tensor g, int capacity, bool exclusive=False) "
                     "-> Tensor"),
    "cluster_attention": ("(Tensor q, Tensor k, Tensor v, Tensor members, "
                          "Tensor aq, Tensor ak, float? scale=None, "
                          "bool summaries=True) -> Tensor"),
}

OPS = tuple(_SCHEMAS)


def _fail(op, message):
    return ArgumentError(f"clusopt.{op}: {message}")


# ----------------------------------------------------------------------
# Verification (mirrors the dialect's verifier)
# ----------------------------------------------------------------------


def _check_count(op, attr, value, allow_list=False):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(op, f"attribute '{attr}' must be an int, got {value!r}")
    if value < 1:
        raise _fail(op, f"attribute '{attr}' must be >= 1, got {value}")
    if value > _INT32_MAX:
        raise _fail(op, f"attribute '{attr}' must be at most {_INT32_MAX}, "
                    f"got {value}")


def _check_choice(op, attr, value, choices):
    if value not in choices:
        raise _fail(op, f"attribute '{attr}' must be one of "
                    f"{list(choices)}, got {value!r}")


def _check_scale(op, scale):
    if scale is not None and not math.isfinite(scale):
        raise _fail(op, f"attribute 'scale' must be finite, got {scale}")


def _check_attrs(op, attrs):
    """Validates and completes `attrs` (the dialect's defaults)."""
    if op == "soft_assign":
        _check_choice(op, "axis", attrs["axis"], ("tokens", "clusters"))
    elif op == "kmeans":
        _check_count(op, "clusters", attrs["clusters"])
        _check_count(op, "iterations", attrs["iterations"])
        _check_choice(op, "metric", attrs["metric"], ("l2", "cosine"))
    elif op == "dpc_knn":
        clusters = attrs["clusters"]
        if not isinstance(clusters, (list, tuple)) or not clusters:
            raise _fail(op, f"attribute 'clusters' must list at least one "
                        f"scale, got {clusters!r}")
        for m in clusters:
            _check_count(op, "clusters", m)
        _check_count(op, "k", attrs["k"])
    elif op == "aggregate":
        _check_count(op, "clusters", attrs["clusters"])
        _check_choice(op, "reduction", attrs["reduction"],
                      ("sum", "mean", "weighted_mean"))
        eps = attrs["eps"]
        if not math.isfinite(eps) or eps < 0:
            raise _fail(op, f"attribute 'eps' must be finite and >= 0, got "
                        f"{eps}")
    elif op == "attention":
        _check_scale(op, attrs["scale"])
    elif op == "topk_members":
        _check_count(op, "capacity", attrs["capacity"])
    elif op == "cluster_attention":
        _check_scale(op, attrs["scale"])


def _operands(op, tensors, attrs):
    """(Operand, tensor) pairs of a call, optional operands dropped."""
    if op == "attention":
        q, keys, values = tensors
        if len(keys) != len(values) or not keys:
            raise _fail(op, f"expects one or more [key, value] pairs, got "
                        f"{len(keys)} keys and {len(values)} values")
        pairs = [(Operand("q", "B H N D"), q)]
        for s, (k, v) in enumerate(zip(keys, values)):
            pairs += [(Operand(f"keys[{s}]", f"B H M{s} D"), k),
                      (Operand(f"values[{s}]", f"B H M{s} Dv"), v)]
        return pairs
    pairs = [(spec, t) for spec, t in zip(_OPERANDS[op], tensors)
             if t is not None]
    if op == "aggregate":
        weighted = attrs["reduction"] == "weighted_mean"
        if weighted and tensors[2] is None:
            raise _fail(op, "reduction 'weighted_mean' requires 'weights'")
        if not weighted and tensors[2] is not None:
            raise _fail(op, f"'weights' are only allowed with reduction "
                        f"'weighted_mean', got '{attrs['reduction']}'")
    return pairs


def _bind_dims(op, pairs, attrs):
    """Checks ranks, dtypes and dims; returns (float dtype, dims dict)."""
    dims, where = {}, {}
    if op == "kmeans":
        dims["M"] = attrs["clusters"]
        where["M"] = f"attribute 'clusters' is {attrs['clusters']}"
    float_dtype, float_name = None, None
    for spec, t in pairs:
        if not isinstance(t, torch.Tensor):
            raise _fail(op, f"'{spec.name}' must be a torch tensor, got "
                        f"{type(t).__name__}")
        if t.dim() != len(spec.dims):
            raise _fail(op, f"'{spec.name}' must be a rank-{len(spec.dims)} "
                        f"tensor [{', '.join(spec.dims)}], got shape "
                        f"{list(t.shape)}")
        if spec.kind == "i32":
            if t.dtype != torch.int32:
                raise _fail(op, f"'{spec.name}' must be int32, got {t.dtype}")
        elif t.dtype not in _FLOAT_DTYPES:
            raise _fail(op, f"'{spec.name}' must be float32, float16 or "
                        f"bfloat16, got {t.dtype}")
        elif float_dtype is None:
            float_dtype, float_name = t.dtype, spec.name
        elif t.dtype != float_dtype:
            raise _fail(op, f"element type mismatch: '{spec.name}' has "
                        f"{t.dtype} but '{float_name}' has {float_dtype}")
        for axis, (dim, size) in enumerate(zip(spec.dims, t.shape)):
            here = f"'{spec.name}' has {size} at axis {axis}"
            if dim not in dims:
                dims[dim], where[dim] = size, here
            elif dims[dim] != size:
                raise _fail(op, f"dimension '{dim}' mismatch: {where[dim]} "
                            f"but {here}")
    if op == "kmeans" and attrs["clusters"] > dims["N"]:
        raise _fail(op, f"requires clusters <= tokens (M <= N), got M = "
                    f"{attrs['clusters']} and N = {dims['N']}")
    if op == "dpc_knn" and max(attrs["clusters"]) > dims["N"]:
        raise _fail(op, f"requires clusters <= tokens (M <= N), got M = "
                    f"{max(attrs['clusters'])} and N = {dims['N']}")
    return float_dtype, dims


def _result_dims(op, attrs):
    """Results as (dim names or ints, kind)."""
    if op == "soft_assign":
        return [(["B", "M", "N"], "float")]
    if op == "pool":
        return [(["B", "M", "C"], "float")]
    if op == "kmeans":
        return [(["B", "N"], "i32"), (["B", attrs["clusters"], "C"], "float")]
    if op == "dpc_knn":
        s, m = len(attrs["clusters"]), max(attrs["clusters"])
        return [(["B", s, "N"], "i32"), (["B", s, m], "i32")]
    if op == "aggregate":
        return [(["B", attrs["clusters"], "C"], "float")]
    if op == "broadcast":
        return [(["B", "N", "C"], "float")]
    if op == "topk_members":
        return [(["B", "M", attrs["capacity"]], "i32")]
    return [(["B", "H", "N", "Dv"], "float")]  # both attentions


def _check_device(op, pairs):
    for spec, t in pairs:
        if t.device.type != "cpu":
            raise _fail(op, f"'{spec.name}' is on device '{t.device}'; "
                        f"clusopt.ops run on CPU tensors (for a GPU, compile "
                        f"for sm_* and use clusopt.load)")


# ----------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------

_kernels = {}
_kernels_lock = threading.Lock()


def _dim_text(dim, dims):
    if isinstance(dim, int):
        return str(dim)
    # Per-scale cluster counts of attention (M0, M1, ...) are static.
    return "?" if dim in _DYNAMIC_DIMS else str(int(dims[dim]))


def _type_text(dim_names, dims, elem):
    return ("tensor<" + "x".join([_dim_text(d, dims) for d in dim_names]
                                 + [elem]) + ">")


def kernel_source(op, pairs, attrs, elem, dims):
    """MLIR of the one-op kernel serving this call's shape class."""
    name = f"clusopt_{op}"
    arg_types = [_type_text(spec.dims, dims, "i32" if spec.kind == "i32"
                            else elem) for spec, _ in pairs]
    res_types = [_type_text(d, dims, "i32" if kind == "i32" else elem)
                 for d, kind in _result_dims(op, attrs)]
    names = [f"%a{i}" for i in range(len(pairs))]
    results = [f"%r{i}" for i in range(len(res_types))]
    params = ", ".join(f"{n}: {t}" for n, t in zip(names, arg_types))
    # The op's destinations: empty tensors with the dynamic sizes (B, N)
    # read from the first operand that has them.
    body = []
    for r, (dim_names, _) in enumerate(_result_dims(op, attrs)):
        sizes = []
        for axis, dim in enumerate(dim_names):
            if _dim_text(dim, dims) != "?":
                continue
            i, j = next((i, spec.dims.index(dim))
                        for i, (spec, _) in enumerate(pairs)
                        if dim in spec.dims)
            body.append(f"  %c{r}_{axis} = arith.constant {j} : index")
            body.append(f"  %d{r}_{axis} = tensor.dim {names[i]}, "
                        f"%c{r}_{axis} : {arg_types[i]}")
            sizes.append(f"%d{r}_{axis}")
        body.append(f"  %init{r} = tensor.empty({', '.join(sizes)}) : "
                    f"{res_types[r]}")
    outs = [f"%init{r}" for r in range(len(res_types))]
    body.append(f"  {', '.join(results)} = "
                + kernels._op_text(op, attrs, names, arg_types, outs,
                                   res_types))
    return (f"func.func @{name}({params}) -> ({', '.join(res_types)}) {{\n"
            + "\n".join(body) + "\n"
            f"  return {', '.join(results)} : {', '.join(res_types)}\n"
            f"}}\n"), name


def _kernel(op, pairs, attrs, elem, dims):
    static = tuple(sorted((d, int(v)) for d, v in dims.items()
                          if d not in _DYNAMIC_DIMS))
    key = (op, tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                            for k, v in attrs.items())), elem, static,
           tuple(t is None for t in pairs))
    kernel = _kernels.get(key)
    if kernel is None:
        with _kernels_lock:
            kernel = _kernels.get(key)
            if kernel is None:
                source, name = kernel_source(op, pairs, attrs, elem, dims)
                library = compiler.compile(source, target="host",
                                           pipeline="optimised")
                kernel = _kernels[key] = library.entry_points[name]
    return kernel


def compiled_kernel_count():
    """How many kernels this process compiled or loaded for clusopt.ops."""
    return len(_kernels)


# Checked calls, per (op, attributes, which operands are given): native
# entry points of the kernels already used. Each checks dtypes, ranks and
# static dims against its kernel, and the dynamic dims (B, N) for equality
# across operands, so a call that fits one needs no check in Python; one
# that fits none takes the full check (_run), which adds its entry.
_fast_entries = {}


def _forget_fast_entries():
    _fast_entries.clear()


def _fast_run(key, operands, op, tensors, attrs):
    for entry in _fast_entries.get(key, ()):
        out = entry.try_call(operands)
        if out is not NotImplemented:
            return out
    return _run(op, tensors, attrs, key)


def _fast_entry(op, kernel, pairs, attrs):
    groups = {d: g for g, d in enumerate(sorted(_DYNAMIC_DIMS))}
    dim_groups = [[groups.get(d, -1) for d in spec.dims] for spec, _ in pairs]
    minimums = []
    if op == "kmeans":
        minimums.append((groups["N"], attrs["clusters"]))
    elif op == "dpc_knn":
        minimums.append((groups["N"], max(attrs["clusters"])))
    return kernel.native_entry(dim_groups, minimums)


def _run(op, tensors, attrs, fast_key=None):
    _check_attrs(op, attrs)
    pairs = _operands(op, tensors, attrs)
    float_dtype, dims = _bind_dims(op, pairs, attrs)
    _check_device(op, pairs)
    kernel = _kernel(op, pairs, attrs, _FLOAT_DTYPES[float_dtype], dims)
    if fast_key is not None:
        entries = _fast_entries.setdefault(fast_key, [])
        if len(entries) < 8:
            entries.append(_fast_entry(op, kernel, pairs, attrs))
    return kernel(*[t for _, t in pairs])


def _fake(op, tensors, attrs):
    _check_attrs(op, attrs)
    pairs = _operands(op, tensors, attrs)
    float_dtype, dims = _bind_dims(op, pairs, attrs)
    first = pairs[0][1]
    outs = []
    for names, kind in _result_dims(op, attrs):
        shape = [d if isinstance(d, int) else dims[d] for d in names]
        dtype = torch.int32 if kind == "i32" else float_dtype
        outs.append(first.new_empty(shape, dtype=dtype))
    return outs[0] if len(outs) == 1 else tuple(outs)


# ----------------------------------------------------------------------
# Registration
# ----------------------------------------------------------------------


def _impls(op):
    """(CPU implementation, fake implementation) with the op's signature.
    The CPU ones try the checked native entries first (_fast_run), keyed
    by the op, its attributes and which optional operands are given."""
    if op == "soft_assign":
        def impl(logits, axis="tokens"):
            return _fast_run((op, axis), (logits,), op, [logits],
                             {"axis": axis})

        def fake(logits, axis="tokens"):
            return _fake(op, [logits], {"axis": axis})
    elif op == "pool":
        key = (op,)

        def impl(z, x):
            return _fast_run(key, (z, x), op, [z, x], {})

        def fake(z, x):
            return _fake(op, [z, x], {})
    elif op == "kmeans":
        def impl(x, clusters, iterations, metric="l2", init=None):
            operands = (x,) if init is None else (x, init)
            return _fast_run((op, clusters, iterations, metric,
                              init is None), operands, op, [x, init],
                             dict(clusters=clusters, iterations=iterations,
                                  metric=metric))

        def fake(x, clusters, iterations, metric="l2", init=None):
            return _fake(op, [x, init], dict(
                clusters=clusters, iterations=iterations, metric=metric))
    elif op == "dpc_knn":
        def impl(x, clusters, k=5):
            return _fast_run((op, tuple(clusters), k), (x,), op, [x],
                             dict(clusters=list(clusters), k=k))

        def fake(x, clusters, k=5):
            return _fake(op, [x], dict(clusters=list(clusters), k=k))
    elif op == "aggregate":
        def impl(x, assign, clusters, reduction="sum", weights=None,
                 eps=1e-6):
            operands = ((x, assign) if weights is None
                        else (x, assign, weights))
            return _fast_run((op, clusters, reduction, eps, weights is None),
                             operands, op, [x, assign, weights],
                             dict(clusters=clusters, reduction=reduction,
                                  eps=eps))

        def fake(x, assign, clusters, reduction="sum", weights=None,
                 eps=1e-6):
            return _fake(op, [x, assign, weights], dict(
                clusters=clusters, reduction=reduction, eps=eps))
    elif op == "broadcast":
        key = (op,)

        def impl(y, assign):
            return _fast_run(key, (y, assign), op, [y, assign], {})

        def fake(y, assign):
            return _fake(op, [y, assign], {})
    elif op == "attention":
        def impl(q, keys, values, scale=None):
            operands = [q]
            for k, v in zip(keys, values):
                operands += (k, v)
            return _fast_run((op, scale, len(keys), len(values)),
                             tuple(operands), op, [q, keys, values],
                             {"scale": scale})

        def fake(q, keys, values, scale=None):
            return _fake(op, [q, keys, values], {"scale": scale})
    elif op == "topk_members":
        def impl(g, capacity, exclusive=False):
            return _fast_run((op, capacity, exclusive), (g,), op, [g],
                             dict(capacity=capacity, exclusive=exclusive))

        def fake(g, capacity, exclusive=False):
            return _fake(op, [g], dict(capacity=capacity,
                                       exclusive=exclusive))
    else:
        def impl(q, k, v, members, aq, ak, scale=None, summaries=True):
            return _fast_run((op, scale, summaries),
                             (q, k, v, members, aq, ak), op,
                             [q, k, v, members, aq, ak],
                             dict(scale=scale, summaries=summaries))

        def fake(q, k, v, members, aq, ak, scale=None, summaries=True):
            return _fake(op, [q, k, v, members, aq, ak],
                         dict(scale=scale, summaries=summaries))
    return impl, fake


def _inference_only(op):
    def backward(ctx, *grads):
        raise ClusoptError(f"clusopt.{op}: clusopt ops are inference only: "
                           f"there is no backward pass (detach the inputs or "
                           f"run under torch.no_grad())")

    def setup_context(ctx, inputs, output):
        pass

    return backward, setup_context


# torch.library.Library rather than torch.library.custom_op: the same
# schema, CPU, fake and autograd registrations, without custom_op's Python
# wrapper around every call (measured: about 2 us of its ~6 us dispatch).
_LIBRARY = torch.library.Library("clusopt", "DEF")


def _register(op):
    impl, fake = _impls(op)
    _LIBRARY.define(f"{op}{_SCHEMAS[op]}")
    _LIBRARY.impl(op, impl, "CPU")
    torch.library.register_fake(f"clusopt::{op}", fake, lib=_LIBRARY)
    backward, setup_context = _inference_only(op)
    torch.library.register_autograd(f"clusopt::{op}", backward,
                                    setup_context=setup_context,
                                    lib=_LIBRARY)
    return getattr(torch.ops.clusopt, op)


# The op packets; clusopt.ops.<op> is torch.ops.clusopt.<op>.
CUSTOM_OPS = {op: _register(op) for op in OPS}
for _op in OPS:
    globals()[_op] = getattr(torch.ops.clusopt, _op)
del _op

_attention_op = torch.ops.clusopt.attention


def attention(q, keys, values, scale=None):
    """torch.ops.clusopt.attention; `keys` and `values` are tensors (one
    scale, PaCa) or equally long lists of them (ClusTR's scales)."""
    if isinstance(keys, torch.Tensor):
        keys = [keys]
    if isinstance(values, torch.Tensor):
        values = [values]
    return _attention_op(q, list(keys), list(values), scale)

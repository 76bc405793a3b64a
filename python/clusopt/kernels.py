"""Builds one-op kernels in destination-passing style and calls them.

Each kernel is a function whose inputs are tensors and whose outputs are
caller-allocated memrefs:

    func.func @kernel(%a0: tensor<...>, ..., %out0: memref<...>) {
      %r0 = clus.<op> ...
      bufferization.materialize_in_destination %r0 in restrict writable %out0
      return
    }

so the caller owns every buffer and nothing leaks across the boundary. In
`dynamic` mode every operand dim is `?`, so one compiled kernel serves every
shape of an op, attribute set and dtype.

On a GPU backend (`clus-gpu-to-nvvm@sm_90`) the same kernel takes
descriptors over device memory: `run` copies the operands to the device,
allocates the (poisoned) outputs there, calls, and copies the results back.
"""

import ctypes
import functools

import numpy as np

from . import dtypes
from .toolchain import Backend


class Dim(int):
    """A result dim; `fixed` when an attribute, not an operand, sets it."""

    def __new__(cls, value, fixed=False):
        obj = super().__new__(cls, value)
        obj.fixed = fixed
        return obj


def _tensor_type(shape, elem, dynamic, fixed=()):
    dims = []
    for axis, size in enumerate(shape):
        keep = not dynamic or axis in fixed or getattr(size, "fixed", False)
        dims.append(str(int(size)) if keep else "?")
    return "tensor<" + "x".join(dims + [elem]) + ">"


def _memref_type(tensor_type):
    return "memref" + tensor_type[len("tensor"):]


def _float_literal(value):
    """An MLIR float literal (it needs a decimal point)."""
    return f"{float(value):.9e}"


def _op_text(op, attrs, names, types, outs, out_types):
    """The assembly of one clus op over operands `names` of `types`, with
    destinations `outs` of `out_types` (its result types)."""
    a, t = names, types
    o = f" outs({', '.join(outs)})"
    r = " -> " + ", ".join(out_types)
    if op == "soft_assign":
        axis = " axis = clusters" if attrs.get("axis") == "clusters" else ""
        return f"clus.soft_assign {a[0]}{axis}{o} : {t[0]}"
    if op == "pool":
        return f"clus.pool {a[0]}, {a[1]}{o} : {t[0]}, {t[1]}{r}"
    if op == "soft_assign_pool":
        # PaCa's pair, which optimised pipelines fuse into one pass.
        return (f"tensor.empty({_dims_of(a[0], t[0])}) : {t[0]}\n"
                f"  %z = clus.soft_assign {a[0]} outs(%z_init) : {t[0]}\n"
                f"  %r0 = clus.pool %z, {a[1]}{o} : {t[0]}, {t[1]}{r}")
    if op == "kmeans":
        init = f" init({a[1]} : {t[1]})" if len(a) > 1 else ""
        metric = " metric = cosine" if attrs.get("metric") == "cosine" else ""
        return (f"clus.kmeans {a[0]}{init} clusters = {attrs['clusters']} "
                f"iterations = {attrs['iterations']}{metric}{o} : {t[0]}{r}")
    if op == "dpc_knn":
        clusters = ", ".join(str(m) for m in attrs["clusters"])
        return (f"clus.dpc_knn {a[0]} clusters = [{clusters}] "
                f"k = {attrs.get('k', 5)}{o} : {t[0]}{r}")
    if op == "aggregate":
        weights = f" weights({a[2]} : {t[2]})" if len(a) > 2 else ""
        return (f"clus.aggregate {a[0]}, {a[1]}{weights} clusters = "
                f"{attrs['clusters']} reduction = {attrs['reduction']} "
                f"eps = {_float_literal(attrs.get('eps', 1e-6))}{o} : "
                f"{t[0]}, {t[1]}{r}")
    if op == "broadcast":
        return f"clus.broadcast {a[0]}, {a[1]}{o} : {t[0]}, {t[1]}{r}"
    if op == "attention":
        pairs = ", ".join(f"[{a[i]}, {a[i + 1]}]"
                          for i in range(1, len(a), 2))
        pair_types = ", ".join(f"[{t[i]}, {t[i + 1]}]"
                               for i in range(1, len(t), 2))
        scale = (f" scale = {_float_literal(attrs['scale'])}"
                 if attrs.get("scale") is not None else "")
        return (f"clus.attention {a[0]}, {pairs}{scale}{o} : {t[0]}, "
                f"{pair_types}{r}")
    if op == "topk_members":
        excl = " exclusive" if attrs.get("exclusive") else ""
        return (f"clus.topk_members {a[0]} capacity = {attrs['capacity']}"
                f"{excl}{o} : {t[0]}{r}")
    if op == "cluster_attention":
        scale = (f" scale = {_float_literal(attrs['scale'])}"
                 if attrs.get("scale") is not None else "")
        summ = "" if attrs.get("summaries", True) else " summaries = false"
        return (f"clus.cluster_attention {a[0]}, {a[1]}, {a[2]} "
                f"members({a[3]}) affinities({a[4]}, {a[5]}){scale}{summ}{o} : "
                + ", ".join(t) + r)
    raise ValueError(f"unknown clus op '{op}'")


def _dims_of(value, tensor_type):
    """The dynamic sizes of `value` (a memref or tensor SSA name of
    `tensor_type`'s shape), as `tensor.empty` operands: only the `?` dims,
    each through a `dim` op emitted by `_dim_lines`."""
    dims = tensor_type[len("tensor<"):-1].split("x")[:-1]
    return ", ".join(f"{value}_d{i}" for i, d in enumerate(dims) if d == "?")


def _dim_lines(value, memref_or_tensor, type_text):
    """`dim` ops binding `<value>_d<i>` for every `?` dim of `type_text`."""
    dims = type_text[type_text.index("<") + 1:-1].split("x")[:-1]
    lines = []
    for i, d in enumerate(dims):
        if d == "?":
            lines.append(f"  %c{i}_{value[1:]} = arith.constant {i} : index")
            lines.append(f"  {value}_d{i} = {memref_or_tensor}.dim {value}, "
                         f"%c{i}_{value[1:]} : {type_text}")
    return lines


def result_shapes(op, shapes, attrs):
    """Result shapes (as Dims) and element kinds ("float"/"i32") of each op."""
    if op == "soft_assign":
        return [(list(shapes[0]), "float")]
    if op in ("pool", "soft_assign_pool"):
        (b, m, _), (_, _, c) = shapes[0], shapes[1]
        return [([b, m, c], "float")]
    if op == "kmeans":
        b, n, c = shapes[0]
        return [([b, n], "i32"),
                ([b, Dim(attrs["clusters"], True), c], "float")]
    if op == "dpc_knn":
        b, n, _ = shapes[0]
        s = Dim(len(attrs["clusters"]), True)
        return [([b, s, n], "i32"),
                ([b, s, Dim(max(attrs["clusters"]), True)], "i32")]
    if op == "aggregate":
        b, _, c = shapes[0]
        return [([b, Dim(attrs["clusters"], True), c], "float")]
    if op == "broadcast":
        (b, _, c), (_, n) = shapes[0], shapes[1]
        return [([b, n, c], "float")]
    if op == "attention":
        b, h, n, _ = shapes[0]
        return [([b, h, n, shapes[2][3]], "float")]
    if op == "topk_members":
        b, _, m = shapes[0]
        return [([b, m, Dim(attrs["capacity"], True)], "i32")]
    if op == "cluster_attention":
        b, h, n, _ = shapes[0]
        return [([b, h, n, shapes[2][3]], "float")]
    raise ValueError(f"unknown clus op '{op}'")


def kernel_source(op, shapes, elems, attrs, dynamic):
    """MLIR text of a one-op kernel over operands of `shapes`/`elems`."""
    arg_types = [_tensor_type(s, e, dynamic) for s, e in zip(shapes, elems)]
    float_elem = next((e for e in elems if e != "i32"), "f32")
    results = result_shapes(op, shapes, attrs)
    res_types = [_tensor_type(s, float_elem if kind == "float" else "i32",
                              dynamic) for s, kind in results]
    names = [f"%a{i}" for i in range(len(shapes))]
    params = [f"{n}: {t}" for n, t in zip(names, arg_types)]
    params += [f"%out{i}: {_memref_type(t)}" for i, t in enumerate(res_types)]
    lhs = ", ".join(f"%r{i}" for i in range(len(results)))
    outs = [f"%init{i}" for i in range(len(results))]
    lines = [f"func.func @kernel({', '.join(params)}) {{"]
    # Destinations shaped like the caller's outputs. Their contents are
    # never read; bufferization gives them their own buffers, and the
    # results are then written into the caller's memrefs.
    for i, t in enumerate(res_types):
        lines += _dim_lines(f"%out{i}", "memref", _memref_type(t))
        lines.append(f"  %init{i} = tensor.empty({_dims_of(f'%out{i}', t)}) "
                     f": {t}")
    if op == "soft_assign_pool":
        lines += _dim_lines(names[0], "tensor", arg_types[0])
        lines.append(f"  %z_init = "
                     + _op_text(op, attrs, names, arg_types, outs, res_types))
    else:
        lines.append(f"  {lhs} = "
                     + _op_text(op, attrs, names, arg_types, outs, res_types))
    for i, t in enumerate(res_types):
        lines.append(f"  bufferization.materialize_in_destination %r{i} in "
                     f"restrict writable %out{i} : ({t}, {_memref_type(t)}) "
                     f"-> ()")
    lines += ["  return", "}", ""]
    return "\n".join(lines), [(s, k, float_elem) for s, k in results]


@functools.lru_cache(maxsize=None)
def _descriptor_type(rank):
    class MemRefDescriptor(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p),
                    ("aligned", ctypes.c_void_p),
                    ("offset", ctypes.c_int64),
                    ("sizes", ctypes.c_int64 * rank),
                    ("strides", ctypes.c_int64 * rank)]
    return MemRefDescriptor


def _descriptor(array):
    if not array.flags["C_CONTIGUOUS"]:
        raise ValueError("kernel operands must be C-contiguous")
    desc = _descriptor_type(array.ndim)()
    desc.allocated = desc.aligned = array.ctypes.data
    desc.offset = 0
    for axis in range(array.ndim):
        desc.sizes[axis] = array.shape[axis]
        desc.strides[axis] = array.strides[axis] // array.itemsize
    return desc


@functools.lru_cache(maxsize=None)
def _load(path):
    lib = ctypes.CDLL(str(path))
    fn = lib._mlir_ciface_kernel
    fn.restype = None
    return lib, fn


def _check_runtime_shapes(op, shapes, attrs):
    """Preconditions a kernel cannot report itself (M <= N for kmeans and
    dpc_knn when N is dynamic)."""
    if op == "kmeans" and attrs["clusters"] > shapes[0][1]:
        raise ValueError(f"kmeans needs clusters <= tokens, got "
                         f"{attrs['clusters']} > {shapes[0][1]}")
    if op == "dpc_knn" and max(attrs["clusters"]) > shapes[0][1]:
        raise ValueError(f"dpc_knn needs every cluster count <= tokens, got "
                         f"{max(attrs['clusters'])} > {shapes[0][1]}")


def run(op, args, elems, attrs=None, backend=Backend(), dynamic=False):
    """Compiles (cached) and runs one clus op.

    `args` are NumPy arrays in storage dtype (see dtypes.to_storage), `elems`
    their MLIR element types. Returns the results as NumPy arrays in storage
    dtype.
    """
    attrs = dict(attrs or {})
    args = [np.ascontiguousarray(a) for a in args]
    shapes = [tuple(a.shape) for a in args]
    _check_runtime_shapes(op, shapes, attrs)
    src, results = kernel_source(op, shapes, elems, attrs, dynamic)
    path = backend.compile(src)
    outs = []
    for shape, kind, float_elem in results:
        elem = "i32" if kind == "i32" else float_elem
        out = np.empty([int(d) for d in shape], dtypes.numpy_dtype(elem))
        # Poison the outputs so an unwritten element cannot pass as correct.
        if elem == "i32":
            out.fill(-123456789)
        else:
            out.view(np.uint8).fill(0xFF)  # NaN in every float format
        outs.append(out)
    if backend.is_gpu:
        return _run_on_gpu(op, backend, path, args, outs)
    _, fn = _load(path)
    descs = [_descriptor(a) for a in args + outs]
    fn(*[ctypes.byref(d) for d in descs])
    return outs


def _run_on_gpu(op, backend, path, args, outs):
    """Runs a GPU kernel library's entry point on device copies of `args`
    and of the poisoned host `outs`; returns the outputs copied back."""
    from . import gpu  # imports this module

    lib = gpu.require()  # GpuError with the reason without a usable GPU
    # An error nobody took (e.g. from a finaliser) is not this kernel's.
    gpu.take_error()
    # The runtime is loaded (RTLD_GLOBAL), so the library's mgpu* calls bind
    # to it; the library's constructor loads its kernels when first opened.
    _, fn = _load(path)
    error = gpu.take_error()
    if error:
        raise gpu.GpuError(f"{op} on {backend.name}: loading the kernels of "
                           f"{path} failed: {error}")
    device, results = [], None
    try:
        for a in args + outs:
            device.append(gpu.DeviceArray.from_numpy(a))
        descs = [d.descriptor() for d in device]
        fn(*[ctypes.byref(d) for d in descs])
        lib.clusopt_gpu_synchronize()
        # The kernel library reports nothing itself: its mgpu* calls record
        # a sticky error in the runtime instead.
        error = gpu.take_error()
        if error:
            raise gpu.GpuError(f"{op} on {backend.name} failed: {error}")
        results = [d.numpy() for d in device[len(args):]]
    finally:
        free_errors = []
        for d in device:
            try:
                d.free()
            except gpu.GpuError as e:
                free_errors.append(str(e))
    if free_errors:  # only reached when nothing was raised above
        raise gpu.GpuError(f"{op} on {backend.name}: freeing device memory "
                           f"failed: {free_errors[0]}")
    return results

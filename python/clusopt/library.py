"""Loads the shared libraries `clusopt-compile` writes and calls their kernels.

    lib = clusopt.load("paca.so")          # reads paca.json beside it
    out = lib.paca_attention(logits, x, q)  # NumPy in, NumPy out
    out = lib.paca_attention(*torch_args)   # torch in, torch out

Calling convention of a `clusopt-compile` library (see its `.h`): every
tensor is a strided memref descriptor `{allocated, aligned, offset,
sizes[r], strides[r]}` (all 64-bit), and `_mlir_ciface_<name>(results,
args...)` writes its results' descriptors through the first pointer: one
descriptor, or a struct of them (laid out back to back) for several
results. Result buffers are malloc'ed by the kernel and owned by the caller;
here they become arrays without a copy, freed when the last array over them
dies.

Element types: f32, f16 and i32 map to the NumPy and torch dtypes of those
names. bf16 takes `torch.bfloat16`; NumPy has no bf16, so NumPy callers pass
and get its bit pattern as `uint16`.
"""

import ctypes
import json
import pathlib
import platform
import sys

import numpy as np

from . import toolchain
from .errors import ArgumentError, ArtifactError, UnsupportedTargetError

MANIFEST_FORMAT = "clusopt-kernels/1"

# Element type -> (NumPy dtype, torch dtype name, item size).
_ELEMENT_TYPES = {
    "f32": (np.dtype(np.float32), "float32", 4),
    "f16": (np.dtype(np.float16), "float16", 2),
    "bf16": (np.dtype(np.uint16), "bfloat16", 2),
    "i32": (np.dtype(np.int32), "int32", 4),
    "i64": (np.dtype(np.int64), "int64", 8),
}

# Element types in the order clusopt._native numbers them.
_ELEMENT_ORDER = list(_ELEMENT_TYPES)


def _torch():
    """The torch module if the caller already imported it (never imports
    it: plain NumPy users must not pay for torch)."""
    return sys.modules.get("torch")


def _resolve_torch():
    """What clusopt._native needs of torch, once torch is in use: the
    Tensor type, the dtypes in _ELEMENT_ORDER, and a DLPack capsule ->
    tensor function (torch's C one; its public wrapper costs microseconds
    more per result)."""
    torch = _torch()
    if torch is None:
        return None
    dtypes = [getattr(torch, _ELEMENT_TYPES[e][1]) for e in _ELEMENT_ORDER]
    from_dlpack = getattr(torch._C, "_from_dlpack", None) or torch.from_dlpack
    return torch.Tensor, dtypes, from_dlpack


_native = None


def native():
    """clusopt._native, configured (see toolchain.native_module)."""
    global _native
    if _native is None:
        module = toolchain.native_module()
        module.configure(ArgumentError, _resolve_torch)
        _native = module
    return _native


class TensorSpec:
    """One argument or result of an entry point: element type and shape
    (None for a dynamic dim)."""

    __slots__ = ("dtype", "shape", "name", "rank", "np_dtype", "torch_dtype",
                 "itemsize", "descriptor_words")

    def __init__(self, dtype, shape, name):
        self.dtype, self.shape, self.name = dtype, tuple(shape), name
        self.rank = len(self.shape)
        self.np_dtype, self.torch_dtype, self.itemsize = _ELEMENT_TYPES[dtype]
        self.descriptor_words = 3 + 2 * self.rank

    def type_text(self):
        dims = ["?" if d is None else str(d) for d in self.shape]
        return "x".join(dims + [self.dtype])

    def __repr__(self):
        return f"TensorSpec({self.name}: {self.type_text()})"


class Kernel:
    """One entry point of a loaded library: call it with NumPy arrays or
    torch tensors (see the module docstring).

    The call runs in clusopt._native: it checks the arguments against the
    manifest, passes contiguous buffers (copies of non-contiguous ones)
    and wraps the results without a copy. A GPU library's call checks its
    arguments there too, then copies them to the device in Python."""

    def __init__(self, library, name, symbol, arguments, results, ops=()):
        self.library = library
        self.name = name
        self.symbol = symbol
        self.arguments = arguments
        self.results = results
        self.ops = list(ops)
        self._fn = None  # the ctypes function (GPU libraries call it)
        self._entry = None  # the native entry point
        self._is_gpu = library.is_gpu

    def _bind(self, cdll):
        try:
            fn = getattr(cdll, self.symbol)
        except AttributeError as e:
            raise ArtifactError(
                f"{self.library.path}: entry point '{self.name}' has no "
                f"symbol {self.symbol} in the library") from e
        count = len(self.arguments) + (1 if self.results else 0)
        fn.argtypes = [ctypes.c_void_p] * count
        fn.restype = None
        self._fn = fn
        self._bind_address(ctypes.cast(fn, ctypes.c_void_p).value)

    def _bind_address(self, address):
        """Calls go to the function at `address` (the entry point's symbol;
        the overhead benchmark swaps in a no-op)."""
        self._entry = self.native_entry(address=address)

    def native_entry(self, dim_groups=None, group_minimums=(), address=None):
        """A clusopt._native.EntryPoint of this kernel. `dim_groups` (one
        list per argument, a group number or -1 per axis) makes it also
        require equal sizes across the axes of one group, and
        `group_minimums` ((group, minimum) pairs) a least size: clusopt.ops
        gives its dynamic dims this way."""
        if address is None:
            address = self._entry.function
        arguments = []
        for i, spec in enumerate(self.arguments):
            groups = list(dim_groups[i]) if dim_groups else []
            arguments.append((_ELEMENT_ORDER.index(spec.dtype),
                              [-1 if d is None else d for d in spec.shape],
                              spec.name, spec.type_text(), groups))
        results = [(_ELEMENT_ORDER.index(r.dtype), r.rank)
                   for r in self.results]
        return native().EntryPoint(self.name, address, self._is_gpu,
                                   arguments, results, list(group_minimums))

    def __repr__(self):
        args = ", ".join(a.type_text() for a in self.arguments)
        res = ", ".join(r.type_text() for r in self.results)
        return f"<clusopt kernel {self.name}({args}) -> ({res})>"

    def __call__(self, *args):
        """Runs the kernel. Returns one result, or a tuple of several (None
        without results), as NumPy arrays or, when any argument is a torch
        tensor, as torch tensors. Raises ArgumentError (naming the
        argument) for a wrong type, dtype, device, rank or dim."""
        if self._is_gpu:
            prepared = self._entry.prepare(*args)
            as_torch = any(p[3] for p in prepared)
            outs = self.library._run_on_gpu(self, prepared, as_torch)
            if not outs:
                return None
            return outs[0] if len(outs) == 1 else tuple(outs)
        return self._entry(*args)


def _to_torch(array, spec):
    torch = _torch()
    tensor = torch.from_numpy(array)
    if spec.dtype == "bf16":
        tensor = tensor.view(torch.bfloat16)
    return tensor


class Library:
    """A loaded `clusopt-compile` library: one `Kernel` per entry point, as
    attributes (`lib.paca_attention`) and in `lib.entry_points`."""

    def __init__(self, path, manifest_path, manifest, entry_points):
        self.path = path
        self.manifest_path = manifest_path
        self.manifest = manifest
        self.target = manifest.get("target", {})
        self.is_gpu = self.target.get("kind") == "cuda"
        self.entry_points = {}
        self._cdll = None
        for e in entry_points:
            self.entry_points[e["name"]] = Kernel(self, **e)

    def __getattr__(self, name):
        entry_points = self.__dict__.get("entry_points", {})
        if name in entry_points:
            return entry_points[name]
        raise AttributeError(f"{self.path} has no entry point '{name}' "
                             f"(it has: {', '.join(entry_points) or 'none'})")

    def __getitem__(self, name):
        return self.entry_points[name]

    def __iter__(self):
        return iter(self.entry_points)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.entry_points))

    def __repr__(self):
        return (f"<clusopt library {self.path} ({self.target.get('name')}): "
                f"{', '.join(self.entry_points)}>")

    def _open(self):
        try:
            self._cdll = ctypes.CDLL(str(self.path))
        except OSError as e:
            raise ArtifactError(f"{self.path}: cannot load the library: "
                                f"{e}") from e
        for kernel in self.entry_points.values():
            kernel._bind(self._cdll)

    def _run_on_gpu(self, kernel, prepared, as_torch):
        from . import gpu

        return _run_on_gpu(gpu, kernel, prepared, as_torch)


def _run_on_gpu(gpu, kernel, prepared, as_torch):
    """A GPU library's call: host arguments go through device copies, CUDA
    tensors are passed as they are; results come back as host arrays, or
    as CUDA tensors when any argument was one."""
    torch = _torch()
    lib = gpu.require()
    gpu.take_error()
    device, pointers_and_shapes = [], []
    on_cuda = any(p[3] and p[0].device.type == "cuda" for p in prepared)
    try:
        for value, ptr, shape, is_torch in prepared:
            if is_torch and value.device.type == "cuda":
                pointers_and_shapes.append((ptr, shape))
                continue
            host = value.numpy() if is_torch else value
            if is_torch and host.dtype == np.dtype("V2"):
                host = host.view(np.uint16)
            copy = gpu.DeviceArray.from_numpy(host)
            device.append(copy)
            pointers_and_shapes.append((copy.ptr, shape))
        raw = _call_device(kernel, pointers_and_shapes)
        lib.clusopt_gpu_synchronize()
        error = gpu.take_error()
        if error:
            raise gpu.GpuError(f"{kernel.name} failed on the GPU: {error}")
        outs = []
        for spec, desc in zip(kernel.results, raw):
            owned = gpu.DeviceArray.from_descriptor(desc, spec.np_dtype)
            device.append(owned)
            if on_cuda:
                out = torch.empty(owned.shape,
                                  dtype=getattr(torch, spec.torch_dtype),
                                  device="cuda")
                torch.cuda.synchronize()
                if lib.clusopt_gpu_copy_device_to_device(
                        out.data_ptr(), owned.ptr, owned.nbytes) != 0:
                    raise gpu.GpuError(gpu.take_error() or "copy failed")
                outs.append(out)
            else:
                host = owned.numpy()
                outs.append(_to_torch(host, spec) if as_torch else host)
        return outs
    finally:
        for d in device:
            d.free()


def _call_device(kernel, pointers_and_shapes):
    """Calls a GPU entry point; returns its results' descriptors."""
    from .kernels import _descriptor_type

    args = []
    for ptr, shape in pointers_and_shapes:
        desc = _descriptor_type(len(shape))()
        desc.allocated = desc.aligned = ptr
        desc.offset = 0
        stride = 1
        for axis in reversed(range(len(shape))):
            desc.sizes[axis], desc.strides[axis] = shape[axis], stride
            stride *= shape[axis]
        args.append(desc)
    fields = [(f"r{i}", _descriptor_type(r.rank))
              for i, r in enumerate(kernel.results)]
    results_type = type("Results", (ctypes.Structure,), {"_fields_": fields})
    results = results_type()
    kernel._fn(ctypes.addressof(results),
               *[ctypes.addressof(a) for a in args])
    return [getattr(results, f"r{i}") for i in range(len(fields))]


# ----------------------------------------------------------------------
# Manifest and target checks
# ----------------------------------------------------------------------


def _parse_spec(manifest_path, entry, kind, index, item):
    where = f"{manifest_path}: entry point '{entry}' {kind} {index}"
    if not isinstance(item, dict):
        raise ArtifactError(f"{where} is not an object")
    dtype, shape = item.get("dtype"), item.get("shape")
    if dtype not in _ELEMENT_TYPES:
        raise ArtifactError(f"{where} has unsupported dtype {dtype!r} "
                            f"(expected one of {sorted(_ELEMENT_TYPES)})")
    if not isinstance(shape, list) or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool)
                          and d >= 0) for d in shape):
        raise ArtifactError(f"{where} has a malformed shape {shape!r}")
    default = f"arg{index}" if kind == "argument" else f"result{index}"
    return TensorSpec(dtype, shape, item.get("name", default))


def _parse_manifest(manifest_path, manifest):
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{manifest_path}: not a clusopt manifest (a "
                            f"JSON object)")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ArtifactError(f"{manifest_path}: format is "
                            f"{manifest.get('format')!r}, expected "
                            f"{MANIFEST_FORMAT!r}")
    target = manifest.get("target")
    if not isinstance(target, dict) or not isinstance(target.get("name"),
                                                      str):
        raise ArtifactError(f"{manifest_path}: missing or malformed 'target'")
    entries = manifest.get("entry_points")
    if not isinstance(entries, list):
        raise ArtifactError(f"{manifest_path}: missing 'entry_points' list")
    parsed = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("name"), str) \
                or not isinstance(e.get("symbol"), str):
            raise ArtifactError(f"{manifest_path}: entry point {i} lacks a "
                                f"name or symbol")
        for key in ("arguments", "results"):
            if not isinstance(e.get(key), list):
                raise ArtifactError(f"{manifest_path}: entry point "
                                    f"'{e['name']}' lacks its '{key}' list")
        parsed.append(dict(
            name=e["name"], symbol=e["symbol"],
            arguments=[_parse_spec(manifest_path, e["name"], "argument", j, a)
                       for j, a in enumerate(e["arguments"])],
            results=[_parse_spec(manifest_path, e["name"], "result", j, r)
                     for j, r in enumerate(e["results"])],
            ops=e.get("ops", [])))
    return parsed


def _required_features(target):
    """CPU flags (as /proc/cpuinfo names them) a CPU target needs. `host`
    builds record only the CPU's name and vector width: the width tells
    which of the AVX2 or AVX-512 levels the code may use."""
    name = target["name"]
    if name in toolchain._TARGET_FEATURES:
        needed = set(toolchain._TARGET_FEATURES[name])
    else:
        needed = set()
    width = target.get("vector_width", 0)
    if width >= 8:
        needed |= toolchain._TARGET_FEATURES["x86-64-v3"]
    if width >= 16:
        needed |= toolchain._TARGET_FEATURES["x86-64-v4"]
    return needed


def check_cpu_target(target, what):
    """Raises UnsupportedTargetError when this CPU cannot run code built
    for `target` (a manifest's target object)."""
    triple = target.get("triple", "")
    arch = triple.split("-", 1)[0] if triple else "x86_64"
    machine = platform.machine()
    if arch != machine and not (arch == "x86_64" and machine == "AMD64"):
        raise UnsupportedTargetError(
            f"{what}: built for {arch} ({target.get('name')}, triple "
            f"{triple}); this machine is {machine}")
    missing = _required_features(target) - toolchain.host_cpu_features()
    if missing:
        raise UnsupportedTargetError(
            f"{what}: built for {target.get('name')} (cpu "
            f"{target.get('cpu', '?')}), which needs CPU features this "
            f"machine lacks: {', '.join(sorted(missing))}")


def check_gpu_target(target, what):
    """Raises UnsupportedTargetError when no GPU here runs `target`'s code
    (the GPU runtime is loaded RTLD_GLOBAL on the way)."""
    chip = target.get("name", "?")
    if chip not in toolchain.GPU_TARGETS:
        raise UnsupportedTargetError(f"{what}: unknown GPU target {chip!r}")
    reason = toolchain.gpu_unavailable_reason(
        chip, cubin_only=target.get("binary") == "bin")
    if reason:
        raise UnsupportedTargetError(f"{what}: built for an NVIDIA GPU "
                                     f"({chip}), but {reason}")


def load(path):
    """Loads a `clusopt-compile` library and its manifest.

    `path` is the `.so` (the manifest is the `.json` of the same stem) or
    the manifest. Raises ArtifactError for a missing or malformed file or
    symbol, UnsupportedTargetError (before loading any code) when this
    machine cannot run the library's target.
    """
    path = pathlib.Path(path)
    if path.suffix == ".json":
        manifest_path = path
    else:
        manifest_path = path.with_suffix(".json")
    try:
        text = manifest_path.read_text()
    except OSError as e:
        raise ArtifactError(f"{manifest_path}: cannot read the manifest of "
                            f"{path}: {e.strerror or e}") from e
    try:
        manifest = json.loads(text)
    except ValueError as e:
        raise ArtifactError(f"{manifest_path}: malformed JSON: {e}") from e
    entries = _parse_manifest(manifest_path, manifest)
    if path.suffix == ".json":
        library_name = manifest.get("library")
        if not isinstance(library_name, str):
            raise ArtifactError(f"{manifest_path}: names no 'library'")
        path = manifest_path.parent / library_name
    if not path.is_file():
        raise ArtifactError(f"{path}: no such library")
    library = Library(path, manifest_path, manifest, entries)
    if library.is_gpu:
        check_gpu_target(library.target, str(path))
    else:
        check_cpu_target(library.target, str(path))
    library._open()
    return library

"""The GPU runtime from Python: libclusopt_gpu_runtime.so through ctypes.

The runtime (runtime/cuda) loads the CUDA driver with dlopen, so this module
imports and answers `available()` on any machine; without a GPU every
operation raises GpuError with the reason.

    ok, reason = gpu.available()
    x = gpu.DeviceArray.from_numpy(np.arange(8, dtype=np.float32))
    desc = x.descriptor()          # memref descriptor over device memory
    fn(ctypes.byref(desc), ...)    # a kernel library built for sm_80/sm_90
    y = x.numpy()

The library is loaded with RTLD_GLOBAL, so kernel libraries loaded after it
(with ctypes.CDLL) bind their mgpu* calls to it. Load it first: call
`load()` (or any function here) before loading a GPU kernel library that
does not name the runtime itself (clusopt-compile's do: DT_NEEDED).
"""

import ctypes
import functools
import os
import pathlib

import numpy as np

from .kernels import _descriptor_type
from .toolchain import build_dir

LIBRARY_NAME = "libclusopt_gpu_runtime.so"
_MESSAGE_BYTES = 4096


class GpuError(RuntimeError):
    """No usable GPU, or a failed GPU runtime call (with the driver's
    message)."""


def runtime_path():
    """$CLUSOPT_GPU_RUNTIME, else build/lib/libclusopt_gpu_runtime.so."""
    env = os.environ.get("CLUSOPT_GPU_RUNTIME")
    if env:
        return pathlib.Path(env)
    return build_dir() / "lib" / LIBRARY_NAME


def _declare(lib):
    c = ctypes
    signatures = {
        "clusopt_gpu_available": (c.c_int, [c.c_char_p, c.c_size_t]),
        "clusopt_gpu_device_name": (c.c_char_p, []),
        "clusopt_gpu_compute_capability": (c.c_int, []),
        "clusopt_gpu_device_count": (c.c_int, []),
        "clusopt_gpu_driver_version": (c.c_int, []),
        "clusopt_gpu_alloc": (c.c_void_p, [c.c_size_t]),
        "clusopt_gpu_free": (None, [c.c_void_p]),
        "clusopt_gpu_copy_to_device": (c.c_int, [c.c_void_p, c.c_void_p,
                                                 c.c_size_t]),
        "clusopt_gpu_copy_to_host": (c.c_int, [c.c_void_p, c.c_void_p,
                                               c.c_size_t]),
        "clusopt_gpu_copy_device_to_device": (c.c_int, [c.c_void_p,
                                                        c.c_void_p,
                                                        c.c_size_t]),
        "clusopt_gpu_is_device_pointer": (c.c_int, [c.c_void_p]),
        "clusopt_gpu_synchronize": (c.c_int, []),
        "clusopt_gpu_event_create": (c.c_void_p, []),
        "clusopt_gpu_event_destroy": (None, [c.c_void_p]),
        "clusopt_gpu_event_record": (c.c_int, [c.c_void_p, c.c_void_p]),
        "clusopt_gpu_event_elapsed_ms": (c.c_float, [c.c_void_p,
                                                     c.c_void_p]),
        "clusopt_gpu_take_error": (c.c_int, [c.c_char_p, c.c_size_t]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


@functools.lru_cache(maxsize=None)
def _load(path):
    if not path.exists():
        raise GpuError(f"{LIBRARY_NAME} not found at {path}; build clusopt "
                       f"first (scripts/build.sh) or set CLUSOPT_GPU_RUNTIME")
    try:
        lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        _declare(lib)
    except (OSError, AttributeError) as e:
        raise GpuError(f"cannot load {path}: {e}") from e
    return lib


def load():
    """The runtime library (loaded once, RTLD_GLOBAL); raises GpuError when
    it is missing."""
    return _load(runtime_path())


def available():
    """(True, "") when a GPU is usable, else (False, the reason)."""
    try:
        lib = load()
    except GpuError as e:
        return False, str(e)
    buf = ctypes.create_string_buffer(_MESSAGE_BYTES)
    ok = lib.clusopt_gpu_available(buf, len(buf))
    return bool(ok), buf.value.decode(errors="replace")


def require():
    """Raises GpuError with the reason when no GPU is usable."""
    ok, reason = available()
    if not ok:
        raise GpuError(f"no usable GPU: {reason}")
    return load()


def device_name():
    """The device's name, "" without a GPU."""
    ok, _ = available()
    return load().clusopt_gpu_device_name().decode() if ok else ""


def compute_capability():
    """major * 10 + minor (80, 90); 0 without a GPU."""
    ok, _ = available()
    return load().clusopt_gpu_compute_capability() if ok else 0


def target():
    """The clusopt-compile target of this GPU ("sm_90"), None without one."""
    cc = compute_capability()
    return f"sm_{cc}" if cc else None


def driver_version():
    """The CUDA driver's version (13000 for 13.0); 0 when it did not load."""
    try:
        return load().clusopt_gpu_driver_version()
    except GpuError:
        return 0


def take_error():
    """The error the runtime recorded since the last call (and clears it),
    or None."""
    try:
        lib = load()
    except GpuError:
        return None
    buf = ctypes.create_string_buffer(_MESSAGE_BYTES)
    if lib.clusopt_gpu_take_error(buf, len(buf)):
        return buf.value.decode(errors="replace")
    return None


def _fail(what):
    raise GpuError(take_error() or what)


def synchronize():
    """Waits for all work on the device."""
    if require().clusopt_gpu_synchronize() != 0:
        _fail("synchronize failed")


def is_device_pointer(ptr):
    """Whether `ptr` (an int) is device or managed memory."""
    ok, _ = available()
    return ok and bool(load().clusopt_gpu_is_device_pointer(ptr))


def elapsed_ms(fn, stream=None):
    """Runs `fn()` between two timing events on `stream` (the default
    stream when None) and returns the device time in milliseconds."""
    lib = require()
    start, end = lib.clusopt_gpu_event_create(), lib.clusopt_gpu_event_create()
    try:
        if not start or not end:
            _fail("cannot create events")
        if lib.clusopt_gpu_event_record(start, stream) != 0:
            _fail("cannot record the start event")
        fn()
        if lib.clusopt_gpu_event_record(end, stream) != 0:
            _fail("cannot record the end event")
        ms = lib.clusopt_gpu_event_elapsed_ms(start, end)
        if ms < 0:
            _fail("cannot read the elapsed time")
        return ms
    finally:
        lib.clusopt_gpu_event_destroy(start)
        lib.clusopt_gpu_event_destroy(end)


class DeviceArray:
    """A C-contiguous array in device memory.

    Owned arrays free their memory on `free()`, on leaving a `with` block,
    or when collected. `descriptor()` is the memref descriptor (the layout
    kernels.py passes for host arrays) over the device pointer, so a GPU
    kernel library's entry points take device arrays as they take NumPy
    arrays on a CPU.
    """

    def __init__(self, shape, dtype, ptr, owned=True):
        self.shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in self.shape):
            raise ValueError(f"negative dim in shape {self.shape}")
        self.dtype = np.dtype(dtype)
        self.ptr = int(ptr) if ptr else 0
        self._owned = owned

    @classmethod
    def empty(cls, shape, dtype):
        """Uninitialised device memory of `shape` and `dtype`."""
        lib = require()
        shape = tuple(int(d) for d in shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        ptr = lib.clusopt_gpu_alloc(nbytes)
        if not ptr:
            _fail(f"cannot allocate {nbytes} bytes on the device")
        return cls(shape, dtype, ptr)

    @classmethod
    def from_numpy(cls, array):
        """A device copy of `array`."""
        array = np.ascontiguousarray(array)
        out = cls.empty(array.shape, array.dtype)
        try:
            out.copy_from(array)
        except GpuError:
            out.free()
            raise
        return out

    @classmethod
    def from_descriptor(cls, descriptor, dtype, owned=True):
        """The array a kernel returned as a memref descriptor over device
        memory (contiguous, offset 0). When `owned`, the array frees it (a
        buffer the kernel allocated); pass owned=False for one that aliases
        an argument."""
        rank = len(descriptor.sizes)
        shape = tuple(descriptor.sizes[d] for d in range(rank))
        stride = 1
        for d in reversed(range(rank)):
            if shape[d] > 1 and descriptor.strides[d] != stride:
                raise ValueError(f"descriptor of shape {shape} is not "
                                 f"contiguous")
            stride *= shape[d]
        if descriptor.offset != 0 or (owned and descriptor.allocated
                                      != descriptor.aligned):
            raise ValueError("descriptor has an offset or an aligned pointer "
                             "other than its allocation")
        return cls(shape, dtype, descriptor.aligned, owned)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    def _live(self):
        if not self.ptr:
            raise GpuError("the device array was freed")
        return require()

    def copy_from(self, array):
        """Copies a host array of the same shape and dtype to the device."""
        array = np.ascontiguousarray(array)
        if array.shape != self.shape or array.dtype != self.dtype:
            raise ValueError(f"expected a {self.dtype} array of shape "
                             f"{self.shape}, got {array.dtype} "
                             f"{array.shape}")
        lib = self._live()
        if lib.clusopt_gpu_copy_to_device(self.ptr, array.ctypes.data,
                                          self.nbytes) != 0:
            _fail("copy to the device failed")

    def numpy(self):
        """A host copy."""
        lib = self._live()
        out = np.empty(self.shape, self.dtype)
        if lib.clusopt_gpu_copy_to_host(out.ctypes.data, self.ptr,
                                        self.nbytes) != 0:
            _fail("copy to the host failed")
        return out

    def descriptor(self):
        """A memref descriptor (ctypes Structure) over the device memory."""
        if not self.ptr:
            raise GpuError("the device array was freed")
        desc = _descriptor_type(self.ndim)()
        desc.allocated = desc.aligned = self.ptr
        desc.offset = 0
        stride = 1
        for axis in reversed(range(self.ndim)):
            desc.sizes[axis] = self.shape[axis]
            desc.strides[axis] = stride
            stride *= self.shape[axis]
        return desc

    def free(self):
        """Frees owned memory now (later calls are no-ops)."""
        ptr, self.ptr = self.ptr, 0
        if ptr and self._owned:
            lib = load()
            lib.clusopt_gpu_free(ptr)
            error = take_error()
            if error:
                raise GpuError(error)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()

    def __del__(self):
        try:
            self.free()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def __repr__(self):
        return (f"DeviceArray(shape={self.shape}, dtype={self.dtype}, "
                f"ptr={self.ptr:#x}{'' if self._owned else ', borrowed'})")

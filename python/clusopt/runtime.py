"""Run clusopt's compiled models from Python: `Model` and `load_image`.

A ctypes wrapper of libclusopt_runtime.so (runtime/capi/clusopt_runtime.h),
the C interface to the same C++ runtime that `clusopt-run` uses: a model
opened here gives bitwise the logits `clusopt-run --dump-logits` gives for
the same weights, images and thread count.

    from clusopt import runtime
    model = runtime.Model("paca_tiny", "w.safetensors", threads=2)
    x = runtime.load_image("cat.jpg", 224)            # [3, 224, 224] f32
    logits = model.run(x[None])                       # [1, 1000] f32

Errors raise clusopt.errors classes with the runtime's message:
ArgumentError (a bad argument, model name or shape), ArtifactError (a
missing or malformed weights file, kernel library or image) and
ClusoptError (a failed run, such as non-finite logits).
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import threading
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .errors import ArgumentError, ArtifactError, ClusoptError
from .toolchain import build_dir

_OK, _ERROR_ARGUMENT, _ERROR_FILE, _ERROR_RUN = 0, 1, 2, 3
_INTERPOLATIONS = {"bicubic": 0, "bilinear": 1}
_ERRORS = {_ERROR_ARGUMENT: ArgumentError, _ERROR_FILE: ArtifactError,
           _ERROR_RUN: ClusoptError}

PathLike = Union[str, os.PathLike]


class _Options(ctypes.Structure):
    _fields_ = [("kernels_path", ctypes.c_char_p),
                ("allow_unused_weights", ctypes.c_int),
                ("threads", ctypes.c_int)]


_lib = None
_lib_lock = threading.Lock()


def library_path() -> pathlib.Path:
    """Where libclusopt_runtime.so is: the build directory's lib/."""
    return build_dir() / "lib" / "libclusopt_runtime.so"


def _library():
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = library_path()
        if not path.exists():
            raise ArtifactError(f"{path} is missing; build clusopt first "
                                f"(scripts/build.sh), or set "
                                f"CLUSOPT_BUILD_DIR to its build directory")
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as e:
            raise ArtifactError(f"{path}: cannot load: {e}") from e
        i64, f32p = ctypes.c_int64, ctypes.POINTER(ctypes.c_float)
        lib.clusopt_last_error.restype = ctypes.c_char_p
        lib.clusopt_last_error.argtypes = []
        lib.clusopt_model_open.restype = ctypes.c_int
        lib.clusopt_model_open.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(_Options),
            ctypes.POINTER(ctypes.c_void_p)]
        for name in ("clusopt_model_num_classes",
                     "clusopt_model_resolution_multiple",
                     "clusopt_model_default_resolution"):
            getattr(lib, name).restype = i64
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        lib.clusopt_model_run.restype = ctypes.c_int
        lib.clusopt_model_run.argtypes = [ctypes.c_void_p, f32p, i64, i64,
                                          i64, f32p]
        lib.clusopt_model_close.restype = None
        lib.clusopt_model_close.argtypes = [ctypes.c_void_p]
        lib.clusopt_image_load.restype = ctypes.c_int
        lib.clusopt_image_load.argtypes = [ctypes.c_char_p, i64, i64,
                                           ctypes.c_double, ctypes.c_int, f32p]
        _lib = lib
        return lib


def _check(lib, code: int) -> None:
    if code != _OK:
        message = lib.clusopt_last_error().decode("utf-8", "replace")
        raise _ERRORS.get(code, ClusoptError)(message)


def _size(resolution: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """(height, width) of `resolution`: N or (H, W)."""
    if isinstance(resolution, (int, np.integer)) and \
            not isinstance(resolution, bool):
        size = (int(resolution), int(resolution))
    elif isinstance(resolution, (tuple, list)) and len(resolution) == 2 and \
            all(isinstance(r, (int, np.integer)) for r in resolution):
        size = (int(resolution[0]), int(resolution[1]))
    else:
        raise ArgumentError(f"resolution must be an int or (height, width), "
                            f"got {resolution!r}")
    if min(size) < 1:
        raise ArgumentError(f"resolution must be positive, got {resolution!r}")
    return size


def _float_pointer(array: np.ndarray):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


class Model:
    """A model on the clusopt runtime, loaded once from its weights.

    name: paca_tiny, paca_small, paca_base (also *_dense), clustr_b1/b2/b3,
    cast_vit or vit_dense. weights: a safetensors file of f32 tensors with
    PyTorch state_dict names; every tensor is checked, and tensors the
    model does not use are an error unless allow_unused_weights.
    resolution: the image size run() takes, N or (H, W). threads: threads
    for each run (None: OMP_NUM_THREADS, else every core). kernels: the
    kernel library (default: the one built with clusopt).
    """

    def __init__(self, name: str, weights: PathLike,
                 resolution: Union[int, Sequence[int]] = 224,
                 threads: Optional[int] = None,
                 kernels: Optional[PathLike] = None,
                 allow_unused_weights: bool = False):
        self._lib = _library()
        self._handle = None
        if not isinstance(name, str):
            raise ArgumentError(f"name must be a str, got {name!r}")
        self.resolution = _size(resolution)
        if threads is not None and (not isinstance(threads, int) or
                                    isinstance(threads, bool) or
                                    not 1 <= threads <= 1024):
            raise ArgumentError(f"threads must be None or an int from 1 to "
                                f"1024, got {threads!r}")
        options = _Options(
            os.fsencode(kernels) if kernels is not None else None,
            int(bool(allow_unused_weights)), threads or 0)
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.clusopt_model_open(
            name.encode(), os.fsencode(weights), ctypes.byref(options),
            ctypes.byref(handle)))
        self._handle = handle
        self.name = name
        self.num_classes = int(self._lib.clusopt_model_num_classes(handle))
        multiple = int(self._lib.clusopt_model_resolution_multiple(handle))
        if any(r % multiple for r in self.resolution):
            self.close()
            raise ArgumentError(
                f"resolution {self.resolution[0]}x{self.resolution[1]} is "
                f"not a multiple of {multiple}, as {name} needs")

    def run(self, images: np.ndarray) -> np.ndarray:
        """Logits float32 [B, num_classes] of `images`, float32
        [B, 3, H, W] preprocessed (load_image) at the model's resolution.
        `images` is only read."""
        if self._handle is None:
            raise ArgumentError(f"model {self.name} is closed")
        if not isinstance(images, np.ndarray) or images.dtype != np.float32:
            raise ArgumentError(
                f"images must be a float32 numpy array, got "
                f"{getattr(images, 'dtype', type(images).__name__)}")
        height, width = self.resolution
        if images.ndim != 4 or images.shape[1:] != (3, height, width) or \
                images.shape[0] < 1:
            raise ArgumentError(
                f"images must be [B, 3, {height}, {width}] (B >= 1), got "
                f"{list(images.shape)}")
        images = np.ascontiguousarray(images)
        logits = np.empty((images.shape[0], self.num_classes), np.float32)
        _check(self._lib, self._lib.clusopt_model_run(
            self._handle, _float_pointer(images), images.shape[0], height,
            width, _float_pointer(logits)))
        return logits

    def close(self) -> None:
        """Frees the model (run() then raises)."""
        if self._handle is not None:
            self._lib.clusopt_model_close(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.close()


def load_image(path: PathLike, resolution: Union[int, Sequence[int]] = 224,
               crop_pct: float = 0.875,
               interpolation: str = "bicubic") -> np.ndarray:
    """The PNG or JPEG at `path`, decoded and preprocessed as clusopt-run
    does (timm's evaluation: resize to cover floor(side / crop_pct), centre
    crop to `resolution`, ImageNet mean and std): float32 [3, H, W]."""
    lib = _library()
    height, width = _size(resolution)
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"interpolation must be one of "
                            f"{sorted(_INTERPOLATIONS)}, got "
                            f"{interpolation!r}")
    out = np.empty((3, height, width), np.float32)
    _check(lib, lib.clusopt_image_load(
        os.fsencode(path), height, width, float(crop_pct),
        _INTERPOLATIONS[interpolation], _float_pointer(out)))
    return out

"""The GPU runtime from Python: clusopt.gpu over libclusopt_gpu_runtime.so.

The CUDA driver is loaded once per process, so the behaviours that depend
on which driver is there run in subprocesses with $CLUSOPT_LIBCUDA set: a
missing driver, the CUDA toolkit's stub (when installed), and the driver
double of runtime/tests/fake-libcuda.cpp, on which device arrays, memref
descriptors over device memory, event timing and a GPU kernel library
built by upstream MLIR's GPU pipeline (test/Runtime/Inputs/gpu-twice.mlir)
run on any machine. The same checks run in this process on a real GPU, and
skip with the reason when there is none.
"""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from clusopt import gpu
from clusopt.toolchain import LLVM_BIN, REPO_ROOT, build_dir

PYTHON_DIR = REPO_ROOT / "python"
CUDA_STUB = pathlib.Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"),
                         "lib64", "stubs", "libcuda.so")


def fake_cuda():
    path = build_dir() / "lib" / "libclusopt_fake_cuda.so"
    if not path.exists():
        pytest.fail(f"{path} is missing; build clusopt first")
    return path


def run_python(code, **env):
    """Runs `code` in a fresh interpreter with `env` added; its stdout."""
    environment = dict(os.environ, **{k: str(v) for k, v in env.items()})
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(PYTHON_DIR)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=environment, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def gpu_twice_library(directory):
    """test/Runtime/Inputs/gpu-twice.mlir as a kernel library (PTX, so no
    CUDA toolkit is needed): `_mlir_ciface_twice(result *, x *)`, y = 2x,
    with the result allocated on the device."""
    source = REPO_ROOT / "test" / "Runtime" / "Inputs" / "gpu-twice.mlir"
    ll, so = directory / "k.ll", directory / "k.so"
    lowered = subprocess.run(
        [str(LLVM_BIN / "mlir-opt"), str(source),
         "--gpu-lower-to-nvvm-pipeline=cubin-chip=sm_80 "
         "cubin-features=+ptx70 cubin-format=isa"],
        capture_output=True, text=True, check=True).stdout
    subprocess.run([str(LLVM_BIN / "mlir-translate"), "--mlir-to-llvmir",
                    "-o", str(ll)], input=lowered, capture_output=True,
                   text=True, check=True)
    subprocess.run([str(LLVM_BIN / "clang"), "-Wno-override-module",
                    "-shared", "-fPIC", str(ll), "-o", str(so)],
                   capture_output=True, text=True, check=True)
    return so


# Checks that need a GPU (or the driver double), run with exec() here or in
# a subprocess.
DEVICE_ARRAY_CHECKS = """
import numpy as np
from clusopt import gpu

assert gpu.available() == (True, "")
assert gpu.compute_capability() >= 50
assert gpu.target() == f"sm_{gpu.compute_capability()}"
assert gpu.device_name()
rng = np.random.default_rng(0)
for dtype in (np.float32, np.float16, np.uint16, np.int32):
    for shape in [(1000,), (5, 7), (2, 3, 4), (0,), (3, 0, 2)]:
        x = (rng.standard_normal(shape) * 100).astype(dtype)
        with gpu.DeviceArray.from_numpy(x) as d:
            assert d.shape == x.shape and d.dtype == x.dtype
            assert d.nbytes == x.nbytes
            assert gpu.is_device_pointer(d.ptr)
            np.testing.assert_array_equal(d.numpy(), x)
            desc = d.descriptor()
            assert desc.allocated == desc.aligned == d.ptr
            assert list(desc.sizes) == list(x.shape)
            assert [s * x.itemsize for s in desc.strides] == \\
                list(x.strides) or x.size == 0
            y = np.ascontiguousarray(x[::-1])
            d.copy_from(y)
            np.testing.assert_array_equal(d.numpy(), y)
assert not gpu.is_device_pointer(x.ctypes.data)
d = gpu.DeviceArray.empty((4,), np.float32)
try:
    d.copy_from(np.zeros(5, np.float32))
    raise AssertionError("a shape mismatch was copied")
except ValueError:
    pass
d.free()
d.free()
try:
    d.numpy()
    raise AssertionError("read a freed array")
except gpu.GpuError as e:
    assert "freed" in str(e)
try:
    gpu.DeviceArray.empty((1 << 61,), np.float32)
    raise AssertionError("allocated 8 EiB")
except gpu.GpuError as e:
    assert "cuMemAlloc_v2 failed" in str(e), e
assert gpu.take_error() is None
assert gpu.elapsed_ms(gpu.synchronize) >= 0
assert gpu.take_error() is None
print("device arrays: OK")
"""

KERNEL_LIBRARY_CHECKS = """
import ctypes
import numpy as np
from clusopt import gpu
from clusopt.kernels import _descriptor_type

gpu.load()  # first, RTLD_GLOBAL: the library's mgpu* calls bind to it
lib = ctypes.CDLL(LIBRARY)  # its constructor loads the kernels
assert gpu.take_error() is None
twice = lib._mlir_ciface_twice
twice.restype = None
for n in (1000, 1, 129):
    x = np.linspace(-3, 3, n, dtype=np.float32)
    with gpu.DeviceArray.from_numpy(x) as dx:
        result = _descriptor_type(1)()
        twice(ctypes.byref(result), ctypes.byref(dx.descriptor()))
        gpu.synchronize()
        assert gpu.take_error() is None
        with gpu.DeviceArray.from_descriptor(result, np.float32) as dy:
            assert dy.shape == (n,) and gpu.is_device_pointer(dy.ptr)
            np.testing.assert_array_equal(dy.numpy(), 2 * x)
print("kernel library: OK")
"""


def test_available_here():
    ok, reason = gpu.available()
    assert isinstance(ok, bool) and isinstance(reason, str)
    if ok:
        assert reason == "" and gpu.target().startswith("sm_")
    else:
        assert reason
        assert gpu.compute_capability() == 0
        assert gpu.device_name() == "" and gpu.target() is None
        with pytest.raises(gpu.GpuError, match="no usable GPU"):
            gpu.DeviceArray.from_numpy(np.zeros(3, np.float32))


def test_no_driver(tmp_path):
    out = run_python("""
import numpy as np
from clusopt import gpu
ok, reason = gpu.available()
print(ok, reason)
assert gpu.driver_version() == 0
try:
    gpu.DeviceArray.empty((3,), np.float32)
    raise AssertionError("allocated without a driver")
except gpu.GpuError as e:
    print("error:", e)
try:
    gpu.synchronize()
    raise AssertionError("synchronized without a driver")
except gpu.GpuError:
    pass
assert gpu.take_error() is None
""", CLUSOPT_LIBCUDA=tmp_path / "none" / "libcuda.so.1")
    first, error = out.splitlines()
    assert first.startswith("False ")
    assert "none/libcuda.so.1 not found (no NVIDIA driver)" in first
    assert error.startswith("error: no usable GPU: ")
    assert "libcuda.so.1 not found" in error


def test_stub_driver():
    if not CUDA_STUB.exists():
        pytest.skip(f"the CUDA toolkit's stub driver is not at {CUDA_STUB}")
    out = run_python("from clusopt import gpu; print(*gpu.available())",
                     CLUSOPT_LIBCUDA=CUDA_STUB)
    assert out.startswith("False the CUDA driver is a stub library (no GPU)")


def test_missing_runtime(tmp_path):
    out = run_python("""
from clusopt import gpu
print(*gpu.available())
try:
    gpu.require()
except gpu.GpuError as e:
    print("error:", e)
""", CLUSOPT_GPU_RUNTIME=tmp_path / "libclusopt_gpu_runtime.so")
    first, error = out.splitlines()
    assert first.startswith("False libclusopt_gpu_runtime.so not found at ")
    assert error.startswith("error: no usable GPU: libclusopt_gpu_runtime.so")


def test_descriptor_over_a_borrowed_pointer():
    # No memory is touched: the descriptor is only built and read back.
    d = gpu.DeviceArray((2, 3, 4), np.float16, 0x10000, owned=False)
    desc = d.descriptor()
    assert desc.allocated == desc.aligned == 0x10000 and desc.offset == 0
    assert list(desc.sizes) == [2, 3, 4] and list(desc.strides) == [12, 4, 1]
    back = gpu.DeviceArray.from_descriptor(desc, np.float16, owned=False)
    assert (back.shape, back.ptr, back.nbytes) == ((2, 3, 4), 0x10000, 48)
    desc.strides[2] = 2
    with pytest.raises(ValueError, match="not contiguous"):
        gpu.DeviceArray.from_descriptor(desc, np.float16, owned=False)
    d.free()  # borrowed: nothing to free
    with pytest.raises(ValueError, match="negative dim"):
        gpu.DeviceArray((2, -1), np.float32, 0x10000, owned=False)


def test_device_arrays_on_the_driver_double():
    out = run_python(DEVICE_ARRAY_CHECKS, CLUSOPT_LIBCUDA=fake_cuda())
    assert out.strip() == "device arrays: OK"


def test_kernel_library_on_the_driver_double(tmp_path):
    so = gpu_twice_library(tmp_path)
    out = run_python(f"LIBRARY = {str(so)!r}\n" + KERNEL_LIBRARY_CHECKS,
                     CLUSOPT_LIBCUDA=fake_cuda())
    assert out.strip() == "kernel library: OK"


def require_gpu():
    ok, reason = gpu.available()
    if not ok:
        pytest.skip(f"no usable GPU: {reason}")


def test_device_arrays_on_the_gpu():
    require_gpu()
    exec(DEVICE_ARRAY_CHECKS, {})


def test_kernel_library_on_the_gpu(tmp_path):
    require_gpu()
    exec(KERNEL_LIBRARY_CHECKS, {"LIBRARY": str(gpu_twice_library(tmp_path))})

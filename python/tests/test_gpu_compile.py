"""The GPU backend, compile only: runs on any machine, no GPU needed.

Every op kind of test_numerics, in f32/f16/bf16 with static and dynamic
shapes, goes through `clus-gpu-to-nvvm` to a kernel library (PTX embedded,
format=isa, so no CUDA toolkit is needed); the library must export
`_mlir_ciface_kernel` and leave its mgpu* calls to
libclusopt_gpu_runtime.so. The kernels that use tensor cores (attention,
pool, soft_assign + pool) must issue `mma.sync.aligned.m16n8k16` in f16
and bf16 and not in f32. A few cases also go through ptxas (format=bin and
the default, fatbin), skipped when the CUDA toolkit is not installed.
test_numerics with `--backend clus-gpu-to-nvvm@sm_XX` runs the kernels on
a GPU.

One library per (op, dtype, shape mode), alternating between sm_80 and
sm_90 so that each op and dtype is built for both chips: 60 libraries, not
120, keep the file at about 40 s on two cores (libraries are cached in
build/kernel-cache, so a rerun takes about 10 s).
"""

import os
import pathlib
import re
import shutil
import struct
import subprocess

import pytest

from clusopt import kernels
from clusopt.toolchain import LLVM_BIN, Backend

CHIPS = ("sm_80", "sm_90")
DTYPES = ("f32", "f16", "bf16")

# op -> (operand shapes, operand kinds: f = float in the dtype, i = i32,
# attributes): a small shape of each op, ragged where the kernel tiles
# (N = 13 tokens) and with head dims the tensor-core path takes (32).
CASES = {
    "soft_assign": ([(2, 5, 13)], "f", {"axis": "tokens"}),
    "pool": ([(2, 5, 13), (2, 13, 32)], "ff", {}),
    "soft_assign_pool": ([(2, 5, 13), (2, 13, 32)], "ff", {}),
    "kmeans": ([(2, 13, 32)], "f",
               {"clusters": 3, "iterations": 2, "metric": "cosine"}),
    "dpc_knn": ([(2, 13, 32)], "f", {"clusters": [2, 5], "k": 3}),
    "aggregate": ([(2, 13, 32), (2, 13), (2, 13)], "fif",
                  {"clusters": 5, "reduction": "weighted_mean",
                   "eps": 1e-6}),
    "broadcast": ([(2, 5, 32), (2, 13)], "fi", {}),
    "attention": ([(1, 2, 13, 32), (1, 2, 5, 32), (1, 2, 5, 32),
                   (1, 2, 7, 32), (1, 2, 7, 32)], "fffff", {"scale": 0.3}),
    "topk_members": ([(2, 13, 5)], "f", {"capacity": 4, "exclusive": True}),
    "cluster_attention": ([(1, 2, 13, 32), (1, 2, 13, 32), (1, 2, 13, 32),
                           (1, 3, 4), (1, 2, 13, 3), (1, 2, 13, 3)],
                          "fffiff", {"summaries": True, "scale": None}),
}

# Ops whose GPU kernels multiply on tensor cores in f16 and bf16.
TENSOR_CORE_OPS = ("attention", "pool", "soft_assign_pool")
MMA = "mma.sync.aligned.m16n8k16"


def source(op, dtype, dynamic):
    shapes, kinds, attrs = CASES[op]
    elems = [dtype if k == "f" else "i32" for k in kinds]
    return kernels.kernel_source(op, shapes, elems, attrs, dynamic)[0]


def gpu_backend(chip, fmt="isa"):
    return Backend("clus-gpu-to-nvvm", chip,
                   options=f"format={fmt}" if fmt else "")


def _tool(name):
    path = LLVM_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing (LLVM 22 tools; scripts/setup.sh)")
    return str(path)


def dynamic_symbols(lib):
    """{name: nm type letter} of the library's dynamic symbol table."""
    out = subprocess.run([_tool("llvm-nm"), "-D", str(lib)],
                         capture_output=True, text=True, check=True).stdout
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            symbols[fields[-1]] = fields[-2]
    return symbols


def needed_libraries(lib):
    out = subprocess.run([_tool("llvm-readelf"), "--needed-libs", str(lib)],
                         capture_output=True, text=True, check=True).stdout
    # NeededLibraries [ / one name a line / ]
    return [line.strip() for line in out.splitlines()[1:-1]]


_OBJECT = re.compile(
    r'#gpu\.object<#nvvm\.target<(?P<target>[^>]*)>,'
    r'(?: properties = \{[^}]*\},)? (?:(?P<kind>assembly|bin) = )?'
    r'"(?P<data>(?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(rb"\\(\\|[0-9A-Fa-f]{2})")


def device_objects(lowered):
    """[(nvvm target text, 'assembly'|'bin'|'fatbin', bytes)] of every
    gpu.binary object in a lowered module (MLIR string escapes decoded)."""
    objects = []
    for m in _OBJECT.finditer(lowered):
        data = _ESCAPE.sub(lambda e: b"\\" if e.group(1) == b"\\"
                           else bytes([int(e.group(1), 16)]),
                           m.group("data").encode("latin-1"))
        objects.append((m.group("target"), m.group("kind") or "fatbin",
                        data))
    return objects


def check_library(lib):
    """A GPU kernel library: the entry point, every mgpu* call left to
    libclusopt_gpu_runtime.so (a module load, PTX JIT-compiled or not, and
    a launch among them), and no OpenMP."""
    symbols = dynamic_symbols(lib)
    assert symbols.get("_mlir_ciface_kernel") == "T", (
        f"{lib} does not export _mlir_ciface_kernel")
    mgpu = {n: t for n, t in symbols.items() if n.startswith("mgpu")}
    assert mgpu and set(mgpu.values()) == {"U"}, mgpu
    assert "mgpuLaunchKernel" in mgpu, sorted(mgpu)
    assert {"mgpuModuleLoad", "mgpuModuleLoadJIT"} & set(mgpu), sorted(mgpu)
    assert not [n for n in needed_libraries(lib) if "omp" in n]


def _grid():
    params = []
    for i, op in enumerate(CASES):
        for j, dtype in enumerate(DTYPES):
            for dynamic in (False, True):
                chip = CHIPS[(i + j + dynamic) % 2]
                params.append(pytest.param(
                    op, dtype, dynamic, chip,
                    id=f"{op}-{dtype}-{'dyn' if dynamic else 'static'}-"
                       f"{chip}"))
    return params


@pytest.mark.parametrize("op,dtype,dynamic,chip", _grid())
def test_kernel_library_builds(op, dtype, dynamic, chip):
    lib = gpu_backend(chip).compile(source(op, dtype, dynamic))
    check_library(lib)


@pytest.mark.parametrize("chip", CHIPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", TENSOR_CORE_OPS)
def test_tensor_cores(op, dtype, chip):
    # Static shapes for sm_80, dynamic for sm_90: both paths, both chips.
    lowered = gpu_backend(chip).lower(source(op, dtype, chip == "sm_90"))
    objects = device_objects(lowered)
    assert len(objects) == 1, f"expected one gpu.binary object, got " \
                              f"{len(objects)}"
    target, kind, ptx = objects[0]
    assert f'chip = "{chip}"' in target and kind == "assembly"
    ptx = ptx.decode()
    assert f".target {chip}" in ptx
    mmas = re.findall(re.escape(MMA) + r"\.row\.col\.f32\.(\w+)\.(\w+)\.f32",
                      ptx)
    if dtype == "f32":
        assert not mmas and "mma.sync" not in ptx, (
            f"{op} f32 should not use tensor cores")
    else:
        assert mmas, f"{op} {dtype}: no {MMA} in the PTX"
        assert set(mmas) == {(dtype, dtype)}, set(mmas)


def ptxas():
    """ptxas as MLIR finds it ($CUDA_HOME, /usr/local/cuda, then PATH)."""
    for home in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if home and (pathlib.Path(home) / "bin" / "ptxas").exists():
            return pathlib.Path(home) / "bin" / "ptxas"
    found = shutil.which("ptxas")
    return pathlib.Path(found) if found else None


@pytest.fixture
def with_ptxas():
    if ptxas() is None:
        pytest.skip("no CUDA toolkit: ptxas is not in $CUDA_HOME/bin, "
                    "/usr/local/cuda/bin or on PATH (format=bin and fatbin "
                    "need it; format=isa does not)")


EM_CUDA = 190
# fatbin image kinds (the fatbin's per-image header, after its own).
FATBIN_PTX, FATBIN_ELF = 1, 2


@pytest.mark.parametrize("op,dtype,dynamic,chip", [
    ("attention", "f16", False, "sm_80"),
    ("attention", "bf16", True, "sm_90"),
    ("soft_assign_pool", "f32", True, "sm_80"),
    ("cluster_attention", "f16", False, "sm_90"),
])
def test_cubin(with_ptxas, op, dtype, dynamic, chip):
    text = source(op, dtype, dynamic)
    backend = gpu_backend(chip, "bin")
    (target, kind, cubin), = device_objects(backend.lower(text))
    assert f'chip = "{chip}"' in target and kind == "bin"
    assert cubin[:4] == b"\x7fELF", cubin[:16]
    assert struct.unpack_from("<H", cubin, 18)[0] == EM_CUDA
    check_library(backend.compile(text))


@pytest.mark.parametrize("chip", CHIPS)
def test_fatbin_is_the_default(with_ptxas, chip):
    """`clus-gpu-to-nvvm@sm_XX` embeds a fatbin with a cubin and the PTX,
    which later GPUs JIT-compile."""
    backend = gpu_backend(chip, fmt=None)
    assert backend.name == f"clus-gpu-to-nvvm@{chip}"
    assert backend.pipeline_flag() == (f"--clus-gpu-to-nvvm=chip={chip} "
                                       f"format=fatbin")
    text = source("soft_assign_pool", "bf16", True)
    (_, kind, fatbin), = device_objects(backend.lower(text))
    assert kind == "fatbin"
    magic, _, header, size = struct.unpack_from("<IHHQ", fatbin, 0)
    assert magic == 0xBA55ED50
    kinds, offset = [], header
    while offset < header + size:
        image, _, image_header, payload = struct.unpack_from("<HHIQ",
                                                             fatbin, offset)
        kinds.append(image)
        offset += image_header + payload
    assert sorted(kinds) == [FATBIN_PTX, FATBIN_ELF]
    check_library(backend.compile(text))


def test_backend_options():
    backend = Backend("clus-gpu-to-nvvm", "sm_86", options="format=isa")
    assert backend.is_gpu and not Backend().is_gpu
    assert backend.pipeline_flag() == "--clus-gpu-to-nvvm=chip=sm_86 " \
                                      "format=isa"
    assert "-march" not in " ".join(backend._clang_flags())
    assert not [f for f in backend._link_flags() if "omp" in f]
    with pytest.raises(ValueError, match="unknown GPU target"):
        Backend("clus-gpu-to-nvvm", "x86-64-v3")
    with pytest.raises(ValueError, match="unknown GPU target"):
        Backend("clus-gpu-to-nvvm", "sm_75")
    with pytest.raises(ValueError, match="not supported"):
        Backend("clus-gpu-to-nvvm", "sm_90", sanitize=True)
    with pytest.raises(ValueError, match="unknown target"):
        Backend("clus-cpu-to-llvm", "sm_90")


# kernels.run on a GPU backend, in a fresh interpreter (the CUDA driver is
# loaded once per process) on the driver double of test_gpu_runtime, which
# loads the PTX but runs only its own two kernels: the inputs and the
# poisoned outputs reach device memory and the launch failure the runtime
# records comes back as a GpuError naming the op and the backend. Without a
# driver, the error is the reason.
RUN_ON_THE_DOUBLE = """
import numpy as np
from clusopt import gpu, kernels
from clusopt.toolchain import Backend, skip_reason
backend = Backend("clus-gpu-to-nvvm", "sm_80", options="format=isa")
print(skip_reason(backend))
x = np.zeros((2, 5, 13), np.float32)
for _ in range(2):  # the second call finds the library already loaded
    try:
        kernels.run("soft_assign", [x], ["f32"], {"axis": "tokens"},
                    backend=backend)
        raise AssertionError("the driver double ran a clus kernel")
    except gpu.GpuError as e:
        print(e)
assert gpu.take_error() is None
"""


def test_run_on_the_driver_double():
    from test_gpu_runtime import fake_cuda, run_python

    first, *errors = run_python(RUN_ON_THE_DOUBLE,
                                CLUSOPT_LIBCUDA=fake_cuda()).splitlines()
    assert first == "None"  # the double is an sm_90 device
    assert len(errors) == 2
    for error in errors:
        assert error.startswith("soft_assign on clus-gpu-to-nvvm{format=isa}"
                                "@sm_80 failed: mgpuLaunchKernel: "), error
        assert "CUDA_ERROR_LAUNCH_FAILED" in error


def test_run_without_a_driver(tmp_path):
    from test_gpu_runtime import run_python

    first, *errors = run_python(
        RUN_ON_THE_DOUBLE,
        CLUSOPT_LIBCUDA=tmp_path / "none" / "libcuda.so.1").splitlines()
    assert first.startswith("no usable GPU: ") and "not found" in first
    assert errors == [first, first]

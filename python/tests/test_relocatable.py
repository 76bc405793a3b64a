"""Libraries clusopt-compile writes load with a plain dlopen, wherever they
are moved: a CPU library needs nothing outside the loader's default path
(no RUNPATH), and a GPU library brings in libclusopt_gpu_runtime.so itself
(DT_NEEDED, RUNPATH $ORIGIN then the compiling clusopt's lib/). Without a
GPU, loading a GPU library still succeeds: its constructor's module load is
recorded as the runtime's error, not a crash. (The ELF entries themselves
are checked by test/Tools/clusopt-compile/relocatable.test.)"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from clusopt import gpu
from clusopt.toolchain import REPO_ROOT, build_dir

INPUTS = REPO_ROOT / "test" / "Tools" / "clusopt-compile" / "Inputs"

# Runs in a fresh interpreter: dlopen the library at argv[1] (RTLD_LOCAL,
# as any C program would), then report which GPU runtime was loaded and
# what it recorded.
PROBE = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
print("loaded")
maps = open("/proc/self/maps").read().split()
runtimes = sorted({p for p in maps if p.endswith("libclusopt_gpu_runtime.so")})
print("runtime:", ",".join(runtimes))
if runtimes:
    rt = ctypes.CDLL("libclusopt_gpu_runtime.so")  # already loaded: by soname
    reason = ctypes.create_string_buffer(512)
    print("available:", rt.clusopt_gpu_available(reason, 512), reason.value.decode())
    error = ctypes.create_string_buffer(512)
    if rt.clusopt_gpu_take_error(error, 512):
        print("error:", error.value.decode())
"""


def probe(library, **env):
    """Loads `library` in a new process with a clean loader environment."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD",
                                "CLUSOPT_GPU_RUNTIME")}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", PROBE, str(library)],
                          capture_output=True, text=True, env=environment,
                          timeout=120)


def compile_library(source, directory, *flags):
    out = directory / "kernels.so"
    proc = subprocess.run(
        [str(build_dir() / "bin" / "clusopt-compile"), str(source), "-o",
         str(out), *flags], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def move(library, directory):
    """The library and its sidecars, moved to `directory`."""
    directory.mkdir()
    for suffix in (".so", ".h", ".json"):
        shutil.move(library.with_suffix(suffix), directory)
    return directory / library.name


def test_cpu_library_loads_after_moving(tmp_path):
    built = compile_library(INPUTS / "attention.mlir", tmp_path,
                            "--target=x86-64")
    moved = move(built, tmp_path / "elsewhere")
    proc = probe(moved)
    assert proc.returncode == 0, proc.stderr
    assert "loaded" in proc.stdout
    assert "runtime: \n" in proc.stdout  # no GPU runtime for CPU code


def ptxas():
    """ptxas as MLIR finds it ($CUDA_HOME, /usr/local/cuda, then PATH)."""
    for home in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if home and (pathlib.Path(home) / "bin" / "ptxas").exists():
            return pathlib.Path(home) / "bin" / "ptxas"
    return shutil.which("ptxas")


@pytest.fixture(scope="module")
def gpu_library(tmp_path_factory):
    # A GPU library embeds a fatbin, which ptxas (the CUDA toolkit) makes.
    if ptxas() is None:
        pytest.skip("no CUDA toolkit: ptxas is not in $CUDA_HOME/bin, "
                    "/usr/local/cuda/bin or on PATH")
    return compile_library(INPUTS / "paca-gpu.mlir",
                           tmp_path_factory.mktemp("gpu"), "--target=sm_80",
                           "--emit=so")


def test_gpu_library_finds_its_runtime(gpu_library, tmp_path):
    # No CUDA driver at all (a path that does not exist): the library still
    # loads; the runtime reports why there is no GPU and keeps the failed
    # module load of the library's constructor as its error.
    proc = probe(gpu_library, CLUSOPT_LIBCUDA=str(tmp_path / "no-libcuda.so"))
    assert proc.returncode == 0, proc.stderr
    runtime = (build_dir() / "lib" / "libclusopt_gpu_runtime.so").resolve()
    assert f"runtime: {runtime}\n" in proc.stdout
    assert "available: 0 " in proc.stdout and "no-libcuda.so" in proc.stdout
    assert "error: mgpuModuleLoad" in proc.stdout, proc.stdout


def test_gpu_library_loads_a_runtime_beside_it(gpu_library, tmp_path):
    # RUNPATH $ORIGIN comes first: a runtime shipped with the library wins.
    directory = tmp_path / "shipped"
    directory.mkdir()
    shutil.copy(gpu_library, directory)
    shutil.copy(build_dir() / "lib" / "libclusopt_gpu_runtime.so", directory)
    proc = probe(directory / gpu_library.name,
                 CLUSOPT_LIBCUDA=str(tmp_path / "no-libcuda.so"))
    assert proc.returncode == 0, proc.stderr
    assert f"runtime: {directory / 'libclusopt_gpu_runtime.so'}\n" in \
        proc.stdout


def test_gpu_library_with_a_driver(gpu_library):
    # With a driver, the constructor hands the module to it at dlopen time.
    # The double of runtime/tests/fake-libcuda.cpp only takes bare PTX, so
    # it refuses the fatbin: the refusal is recorded, the process goes on.
    fake = build_dir() / "lib" / "libclusopt_fake_cuda.so"
    if not fake.exists():
        pytest.fail(f"{fake} is missing; build clusopt first")
    proc = probe(gpu_library, CLUSOPT_LIBCUDA=str(fake))
    assert proc.returncode == 0, proc.stderr
    assert "available: 1 " in proc.stdout, proc.stdout
    assert "error: mgpuModuleLoad: cuModuleLoadDataEx failed" in \
        proc.stdout and "fake CUDA driver" in proc.stdout, proc.stdout


def test_gpu_library_on_a_gpu(gpu_library):
    ok, reason = gpu.available()
    if not ok:
        pytest.skip(f"no usable GPU: {reason}")
    if gpu.compute_capability() < 80:
        pytest.skip("the library is built for sm_80")
    proc = probe(gpu_library)
    assert proc.returncode == 0, proc.stderr
    assert "available: 1 " in proc.stdout, proc.stdout
    assert "error:" not in proc.stdout, proc.stdout


def test_gpu_runtime_brings_no_llvm_into_the_process():
    """The GPU runtime is loaded RTLD_GLOBAL (clusopt.gpu, clusopt.load of a
    GPU library). It must not carry libLLVM.so with it: a global libLLVM
    interposes on another LLVM in the process, and importing torch's
    dynamo (triton's LLVM) after it crashed with SIGSEGV."""
    runtime = build_dir() / "lib" / "libclusopt_gpu_runtime.so"
    script = ("import ctypes, sys\n"
              "ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)\n"
              "maps = open('/proc/self/maps').read()\n"
              "assert 'libLLVM' not in maps, 'libLLVM.so was loaded'\n"
              "try:\n"
              "    import torch._dynamo  # imports triton, if installed\n"
              "except ImportError:\n"
              "    pass\n"
              "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", script, str(runtime)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (
        proc.returncode, proc.stderr[-2000:])

"""Compiles MLIR through clusopt's pipelines into shared libraries.

A *backend* names a pass pipeline and a target: a CPU (x86-64, ...) or, for
the GPU pipeline `clus-gpu-to-nvvm`, an NVIDIA architecture (sm_80, ...).
The numerics harness is parametrised by backends, so every later pipeline
(tiled, vectorised, GPU) is checked by the same tests as the reference one.
"""

import dataclasses
import hashlib
import os
import pathlib
import subprocess

from .errors import ClusoptError

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
# The source checkout this module is in (meaningless in an installed package).
REPO_ROOT = PACKAGE_DIR.parents[1]
LLVM_BIN = pathlib.Path(os.environ.get("CLUSOPT_LLVM_BIN",
                                       "/usr/lib/llvm-22/bin"))


class ToolchainError(ClusoptError, RuntimeError):
    """A tool in the compile chain is missing or failed."""


def installed():
    """Whether this package was installed with its tools (`pip install`
    puts them in clusopt/bin and its libraries in clusopt/lib)."""
    return (PACKAGE_DIR / "bin" / "clusopt-compile").exists()


def build_dir():
    """Where clusopt's tools (bin/) and libraries (lib/) are, the one place
    that decides it: $CLUSOPT_BUILD_DIR, else the installed package itself
    (clusopt/bin, clusopt/lib), else the source checkout's build/."""
    if os.environ.get("CLUSOPT_BUILD_DIR"):
        return pathlib.Path(os.environ["CLUSOPT_BUILD_DIR"])
    if installed():
        return PACKAGE_DIR
    return REPO_ROOT / "build"


_native_module = None


def native_module():
    """clusopt._native, the C++ call path of compiled kernels: installed next
    to the package by `pip install`, or built by scripts/build.sh into
    <build_dir()>/python/clusopt. Raises ClusoptError when neither exists."""
    global _native_module
    if _native_module is not None:
        return _native_module
    import importlib
    import importlib.machinery
    import importlib.util
    import sys

    from .errors import ClusoptError

    try:
        module = importlib.import_module("clusopt._native")
    except ImportError:
        module = None
        built = build_dir() / "python" / "clusopt"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = built / f"_native{suffix}"
            if path.is_file():
                spec = importlib.util.spec_from_file_location(
                    "clusopt._native", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                sys.modules["clusopt._native"] = module
                break
        if module is None:
            raise ClusoptError(
                f"clusopt's native extension (_native) is neither installed "
                f"with the package nor built in {built}: build clusopt "
                f"(scripts/build.sh) or set CLUSOPT_BUILD_DIR to its build "
                f"directory")
    _native_module = module
    return module


def cache_root():
    """The one cache directory of clusopt: $CLUSOPT_CACHE_DIR, else
    $XDG_CACHE_HOME/clusopt, else ~/.cache/clusopt. `clusopt.compile` keeps
    its libraries in kernels/ there."""
    env = os.environ.get("CLUSOPT_CACHE_DIR")
    if env:
        return pathlib.Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = pathlib.Path(xdg) if xdg else pathlib.Path.home() / ".cache"
    return base / "clusopt"


def cache_dir():
    """Where the numerics harness (Backend.compile) caches its libraries:
    harness/ in $CLUSOPT_CACHE_DIR when set, else kernel-cache/ in a build
    directory (tests of a checkout stay with its build), else (an installed
    package, whose directory may not be writable) harness/ in
    cache_root()."""
    if os.environ.get("CLUSOPT_CACHE_DIR") or build_dir() == PACKAGE_DIR:
        path = cache_root() / "harness"
    else:
        path = build_dir() / "kernel-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tool(name, directory):
    path = pathlib.Path(directory) / name
    if not path.exists():
        raise ToolchainError(f"{name} not found at {path}; build clusopt "
                             f"first (scripts/build.sh), install it (pip "
                             f"install .) or set $CLUSOPT_BUILD_DIR")
    return str(path)


def tool(name):
    """The path of clusopt's command-line tool `name` (clusopt-compile,
    ...); raises ToolchainError when it is not there."""
    return _tool(name, build_dir() / "bin")


def host_cpu_features():
    """CPU feature flags of this machine, from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


# What a CPU must support to run code built for each target.
_TARGET_FEATURES = {
    "host": set(),
    "x86-64": set(),
    "x86-64-v3": {"avx2", "fma", "bmi2", "f16c"},
    "x86-64-v4": {"avx512f", "avx512bw", "avx512vl", "avx512dq"},
}


# f32 lanes of the widest vector unit each target guarantees.
_TARGET_VECTOR_WIDTH = {"x86-64": 4, "x86-64-v3": 8, "x86-64-v4": 16}

# Pipelines whose kernels are multi-threaded through OpenMP.
_OPENMP_PIPELINES = {"clus-cpu-to-llvm"}

# Pipelines whose libraries are host code launching NVIDIA kernels through
# the mgpu* ABI of libclusopt_gpu_runtime.so, and the chips they target.
_GPU_PIPELINES = {"clus-gpu-to-nvvm"}
GPU_TARGETS = ("sm_80", "sm_86", "sm_89", "sm_90")


# The vector extension of each x86-64 level, for benchmark reports.
_TARGET_VECTOR_ISA = {"x86-64": "SSE2", "x86-64-v3": "AVX2",
                      "x86-64-v4": "AVX-512"}


def host_target(features=None):
    """The widest x86-64 level whose code runs on a CPU with `features`
    (default: this machine's): x86-64-v4 with AVX-512 F/BW/DQ/VL, else
    x86-64-v3 with AVX2/FMA, else x86-64."""
    features = host_cpu_features() if features is None else features
    for target in ("x86-64-v4", "x86-64-v3"):
        if _TARGET_FEATURES[target] <= features:
            return target
    return "x86-64"


def isa_name(target):
    """`target` with its vector extension, e.g. "x86-64-v3 (AVX2)";
    "host" is resolved to this CPU's level first, and other targets
    (sm_80, ...) are returned as they are."""
    if target == "host":
        target = host_target()
    if target not in _TARGET_VECTOR_ISA:
        return target
    return f"{target} ({_TARGET_VECTOR_ISA[target]})"


def vector_width(target):
    """f32 lanes per vector for `target` ("host" picks from this CPU)."""
    if target == "host":
        target = host_target()
    return _TARGET_VECTOR_WIDTH[target]


def openmp_lib_dir():
    return LLVM_BIN.parent / "lib"


def is_gpu_target(target):
    return target in GPU_TARGETS


def gpu_unavailable_reason(target, cubin_only=False):
    """None when this machine's GPU runs code built for `target` (sm_XY),
    else why not: the reason of `clusopt.gpu.available()`, or a GPU that
    cannot run it. PTX (format isa, and fatbin, which carries it too) runs
    on the target's architecture and later ones; a cubin alone only on the
    target's major version."""
    from . import gpu  # imports kernels, which imports this module

    ok, reason = gpu.available()
    if not ok:
        return f"no usable GPU: {reason}"
    cc, want = gpu.compute_capability(), int(target.removeprefix("sm_"))
    if cc < want or (cubin_only and cc // 10 != want // 10):
        return f"this GPU (sm_{cc}) cannot run {target} code"
    return None


def target_runs_here(target):
    if is_gpu_target(target):
        return gpu_unavailable_reason(target) is None
    return _TARGET_FEATURES[target] <= host_cpu_features()


def skip_reason(backend):
    """None when code of `backend` runs on this machine, else why not."""
    if backend.is_gpu:
        return gpu_unavailable_reason(
            backend.target, cubin_only="format=bin" in backend.options)
    if not target_runs_here(backend.target):
        return f"this CPU cannot run {backend.target} code"
    return None


def _mark_for_asan(ir_path):
    """Adds `sanitize_address` to every function definition.

    ASan instruments only functions carrying that attribute; clang adds it
    when compiling C, but not to functions of an input .ll file, so
    -fsanitize=address alone would leave the kernels unchecked.
    """
    lines = ir_path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("define ") and line.rstrip().endswith("{"):
            lines[i] = line.rstrip()[:-1] + "sanitize_address {"
    ir_path.write_text("\n".join(lines) + "\n")


@dataclasses.dataclass(frozen=True)
class Backend:
    """A pass pipeline plus the CPU (or, for a GPU pipeline, the NVIDIA
    architecture) the generated code is built for.

    GPU backends (`clus-gpu-to-nvvm@sm_80`) embed a fatbin unless the
    options say otherwise (`clus-gpu-to-nvvm{format=isa}@sm_90`: PTX, no
    CUDA toolkit needed); their kernels take memref descriptors over device
    memory (kernels.run copies to and from the device).
    """

    pipeline: str = "clus-to-llvm"
    target: str = "x86-64"
    sanitize: bool = False
    # Extra pipeline options, e.g. "rows=3 cols=32" for clus-cpu-to-llvm.
    options: str = ""

    def __post_init__(self):
        if self.pipeline in _GPU_PIPELINES:
            if self.target not in GPU_TARGETS:
                raise ValueError(f"unknown GPU target '{self.target}' for "
                                 f"{self.pipeline}; expected one of "
                                 f"{list(GPU_TARGETS)}")
            if self.sanitize:
                raise ValueError(f"{self.pipeline}: ASan/UBSan builds of GPU "
                                 f"host code are not supported")
            return
        if self.target not in _TARGET_FEATURES:
            raise ValueError(f"unknown target '{self.target}'; expected one "
                             f"of {sorted(_TARGET_FEATURES)}")

    @property
    def is_gpu(self):
        """Whether the library launches GPU kernels on device memory."""
        return self.pipeline in _GPU_PIPELINES

    @property
    def name(self):
        suffix = "+asan" if self.sanitize else ""
        options = f"{{{self.options}}}" if self.options else ""
        return f"{self.pipeline}{options}@{self.target}{suffix}"

    def _clang_flags(self):
        # compiler-rt provides the bf16/f16 conversion helpers
        # (__truncsfbf2, ...) that LLVM may call; libgcc 12 lacks them.
        flags = ["-O2", "-shared", "-fPIC", "--rtlib=compiler-rt"]
        if self.is_gpu:
            return flags  # host code for any x86-64; no -march
        if self.target == "host":
            flags.append("-march=native")
        else:
            flags.append(f"-march={self.target}")
        if self.sanitize:
            flags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
        return flags

    def pipeline_flag(self):
        """The clusopt-opt flag running this backend's pipeline."""
        if self.pipeline == "clus-cpu-to-llvm":
            # The target's own width unless the options choose one, e.g.
            # 16 lanes for x86-64-v3, which LLVM legalises into AVX2 pairs.
            if "vector-width=" in self.options:
                return f"--clus-cpu-to-llvm={self.options}"
            return (f"--clus-cpu-to-llvm=vector-width="
                    f"{vector_width(self.target)} {self.options}").rstrip()
        if self.is_gpu:
            # fatbin (cubin + PTX, through ptxas) unless the options choose.
            fmt = "" if "format=" in self.options else " format=fatbin"
            return (f"--{self.pipeline}=chip={self.target}{fmt} "
                    f"{self.options}").rstrip()
        if self.options:
            return f"--{self.pipeline}={self.options}"
        return f"--{self.pipeline}"

    def _link_flags(self):
        # Only OpenMP pipelines need libomp. GPU libraries leave their mgpu*
        # symbols undefined: they bind at load time to
        # libclusopt_gpu_runtime.so, loaded RTLD_GLOBAL first (gpu.load()).
        # No RUNPATH: libomp.so.5 is on the loader's default path, as for
        # clusopt-compile's libraries.
        # The optimised CPU pipeline calls the GEMM micro-kernels
        # (clus-linalg-to-ukernel): libclusopt_ukernels.a, linked in with
        # its symbols hidden, as clusopt-compile does.
        if self.pipeline not in _OPENMP_PIPELINES:
            return ["-lm"]
        ukernels = build_dir() / "lib" / "libclusopt_ukernels.a"
        return [str(ukernels), "-Wl,--exclude-libs,libclusopt_ukernels.a",
                "-lm", f"-L{openmp_lib_dir()}", "-lomp"]

    def lower(self, mlir_text):
        """`mlir_text` through this backend's pipeline (not cached): the
        LLVM-dialect module `compile` translates. For a GPU backend its
        gpu.binary holds the device code (PTX text with format=isa)."""
        opt = _tool("clusopt-opt", build_dir() / "bin")
        proc = subprocess.run([opt, self.pipeline_flag(), "-"],
                              input=mlir_text, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ToolchainError(f"{opt} {self.pipeline_flag()} failed "
                                 f"({proc.returncode}):\n{proc.stderr}")
        return proc.stdout

    def compile(self, mlir_text):
        """Compiles `mlir_text` to a shared library and returns its path.

        Libraries are cached by the hash of the input, the backend and the
        clusopt-opt binary, so re-running the suite recompiles nothing.
        """
        opt = _tool("clusopt-opt", build_dir() / "bin")
        key = hashlib.sha256()
        key.update(mlir_text.encode())
        key.update(self.name.encode())
        key.update(str(os.stat(opt).st_mtime_ns).encode())
        key.update(pathlib.Path(__file__).read_bytes())  # the recipe itself
        digest = key.hexdigest()[:24]
        out = cache_dir() / f"{digest}.so"
        if out.exists():
            return out
        work = cache_dir() / f"{digest}.tmp{os.getpid()}"
        work.mkdir(exist_ok=True)
        src = work / "kernel.mlir"
        src.write_text(mlir_text)
        lowered, ir, lib = work / "lowered.mlir", work / "kernel.ll", \
            work / "kernel.so"
        self._run([opt, self.pipeline_flag(), str(src), "-o", str(lowered)])
        self._run([_tool("mlir-translate", LLVM_BIN), "--mlir-to-llvmir",
                   str(lowered), "-o", str(ir)])
        if self.sanitize:
            _mark_for_asan(ir)
        self._run([_tool("clang", LLVM_BIN), *self._clang_flags(), str(ir),
                   "-o", str(lib), *self._link_flags()])
        os.replace(lib, out)  # atomic: concurrent test workers may race
        for f in work.iterdir():
            f.unlink()
        work.rmdir()
        return out

    @staticmethod
    def _run(cmd):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ToolchainError(f"{' '.join(cmd)} failed "
                                 f"({proc.returncode}):\n{proc.stderr}")

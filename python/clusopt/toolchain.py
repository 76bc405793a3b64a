"""Compiles MLIR through clusopt's pipelines into shared libraries.

A *backend* names a pass pipeline and a CPU target. The numerics harness is
parametrised by backends, so every later pipeline (tiled, vectorised, GPU)
is checked by the same tests as the reference one.
"""

import dataclasses
import hashlib
import os
import pathlib
import subprocess

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
LLVM_BIN = pathlib.Path(os.environ.get("CLUSOPT_LLVM_BIN",
                                       "/usr/lib/llvm-22/bin"))


class ToolchainError(RuntimeError):
    """A tool in the compile chain is missing or failed."""


def build_dir():
    return pathlib.Path(os.environ.get("CLUSOPT_BUILD_DIR",
                                       REPO_ROOT / "build"))


def cache_dir():
    path = pathlib.Path(os.environ.get("CLUSOPT_KERNEL_CACHE",
                                       build_dir() / "kernel-cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tool(name, directory):
    path = pathlib.Path(directory) / name
    if not path.exists():
        raise ToolchainError(f"{name} not found at {path}; build clusopt "
                             f"first (scripts/test.sh builds it)")
    return str(path)


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


def vector_width(target):
    """f32 lanes per vector for `target` ("host" picks from this CPU)."""
    if target == "host":
        features = host_cpu_features()
        if _TARGET_FEATURES["x86-64-v4"] <= features:
            return 16
        return 8 if _TARGET_FEATURES["x86-64-v3"] <= features else 4
    return _TARGET_VECTOR_WIDTH[target]


def openmp_lib_dir():
    return LLVM_BIN.parent / "lib"


def target_runs_here(target):
    return _TARGET_FEATURES[target] <= host_cpu_features()


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
    """A pass pipeline plus the CPU the generated code is built for."""

    pipeline: str = "clus-to-llvm"
    target: str = "x86-64"
    sanitize: bool = False
    # Extra pipeline options, e.g. "rows=3 cols=32" for clus-cpu-to-llvm.
    options: str = ""

    def __post_init__(self):
        if self.target not in _TARGET_FEATURES:
            raise ValueError(f"unknown target '{self.target}'; expected one "
                             f"of {sorted(_TARGET_FEATURES)}")

    @property
    def name(self):
        suffix = "+asan" if self.sanitize else ""
        options = f"{{{self.options}}}" if self.options else ""
        return f"{self.pipeline}{options}@{self.target}{suffix}"

    def _clang_flags(self):
        # compiler-rt provides the bf16/f16 conversion helpers
        # (__truncsfbf2, ...) that LLVM may call; libgcc 12 lacks them.
        flags = ["-O2", "-shared", "-fPIC", "--rtlib=compiler-rt"]
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
            return (f"--clus-cpu-to-llvm=vector-width="
                    f"{vector_width(self.target)} {self.options}").rstrip()
        if self.options:
            return f"--{self.pipeline}={self.options}"
        return f"--{self.pipeline}"

    def _link_flags(self):
        if self.pipeline not in _OPENMP_PIPELINES:
            return ["-lm"]
        lib = openmp_lib_dir()
        return ["-lm", f"-L{lib}", "-lomp", f"-Wl,-rpath,{lib}"]

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

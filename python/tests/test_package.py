"""`pip install` of the repository into a fresh virtual environment, then
the installed package used from outside the checkout: `python -m clusopt
--version`, `import clusopt`, the tools on PATH, and (when the Python API
is there) a compiled library loaded with clusopt.load and clusopt.ops on
torch tensors.

The venv sees the system's site-packages (--system-site-packages) so that
torch and NumPy, which are large, need not be downloaded again; clusopt
itself comes from the source tree, and the checks confirm that the
installed copy is the one imported. The build runs without build isolation
(scikit-build-core is already installed, nothing is downloaded) in
build-pip-test/, which persists, so a repeat run rebuilds only what
changed. A first run compiles through ccache (when installed): that
directory sits at the same depth as build/ and the build uses the flags of
scripts/build.sh (-Werror), so with CCACHE_BASEDIR (set to the checkout's
parent unless given) every object scripts/build.sh compiled is a cache hit,
and what is left is linking, the model kernels and the wheel. Deselect with
`-m "not package"`.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from clusopt.toolchain import REPO_ROOT

pytestmark = pytest.mark.package

# Everything the venv runs; the environment is scrubbed of what would point
# it back at the checkout.
PIP_BUILD_DIR = REPO_ROOT / "build-pip-test"
SCRUBBED = ("PYTHONPATH", "CLUSOPT_BUILD_DIR", "CLUSOPT_CACHE_DIR",
            "CLUSOPT_GPU_RUNTIME", "LD_LIBRARY_PATH", "LD_PRELOAD",
            "VIRTUAL_ENV")


def run(cmd, cwd, env, timeout=120):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
        f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A venv with clusopt pip-installed; (bin dir, environment, cwd)."""
    root = tmp_path_factory.mktemp("venv")
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["XDG_CACHE_HOME"] = str(root / "cache")  # the kernel cache
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                    str(root / "env")], check=True)
    bin_dir = root / "env" / "bin"
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("CCACHE_BASEDIR", str(REPO_ROOT.parent))
    run([bin_dir / "python", "-m", "pip", "install", "--no-build-isolation",
         "--no-deps", "--no-cache-dir", "--quiet",
         f"-Cbuild-dir={PIP_BUILD_DIR}",
         "-Ccmake.define.CLUSOPT_ENABLE_WERROR=ON", REPO_ROOT],
        cwd=root, env=env, timeout=3600)
    outside = root / "work"  # away from the checkout
    outside.mkdir()
    return bin_dir, env, outside


def python(venv, code):
    bin_dir, env, cwd = venv
    return run([bin_dir / "python", "-c", code], cwd=cwd, env=env)


def package_dir(venv):
    """The installed package's directory, as the venv imports it."""
    return pathlib.Path(python(venv, "import clusopt, os\nprint(os.path."
                                     "dirname(clusopt.__file__))").strip())


def test_version(venv):
    bin_dir, env, cwd = venv
    text = run([bin_dir / "python", "-m", "clusopt", "--version"], cwd, env)
    version = re.search(r"project\(clusopt VERSION ([0-9.]+)",
                        (REPO_ROOT / "CMakeLists.txt").read_text()).group(1)
    assert re.fullmatch(
        rf"clusopt {re.escape(version)} \(git [0-9a-f]{{12}}\)\n"
        r"LLVM 22\.[0-9.]+\n", text), text
    # The tools say the same, and the package's metadata has the version.
    assert run([bin_dir / "clusopt-compile", "--version"], cwd, env) == text
    assert run([bin_dir / "python", "-m", "pip", "show", "clusopt"], cwd,
               env).count(f"Version: {version}") == 1
    assert "--version" in run([bin_dir / "python", "-m", "clusopt",
                               "--help"], cwd, env)


def test_import_is_the_installed_copy(venv):
    bin_dir, env, cwd = venv
    out = python(venv, "import clusopt, clusopt.models.paca, clusopt.toolchain"
                       " as t\nprint(clusopt.__file__)\nprint(t.installed())"
                       "\nprint(t.build_dir())\nprint(t.cache_dir())\n"
                       "print(clusopt.__version__)")
    file, installed, root, cache, version = out.splitlines()
    assert pathlib.Path(file).is_relative_to(bin_dir.parent), file
    assert installed == "True"
    assert pathlib.Path(root) == pathlib.Path(file).parent
    assert cache == str(pathlib.Path(env["XDG_CACHE_HOME"]) / "clusopt" /
                        "harness")
    assert version in run([bin_dir / "python", "-m", "clusopt",
                           "--version"], cwd, env)


def test_tools_and_libraries_installed(venv):
    bin_dir, env, cwd = venv
    package = package_dir(venv)
    for tool in ("clusopt-opt", "clusopt-compile", "clusopt-tune",
                 "clusopt-run", "clusopt-safetensors"):
        assert (bin_dir / tool).exists(), tool
        assert (package / "bin" / tool).exists(), tool
        assert "USAGE:" in run([bin_dir / tool, "--help"], cwd, env)
    # No test drivers or fuzzers.
    assert sorted(p.name for p in (package / "bin").iterdir()) == sorted(
        ["clusopt-opt", "clusopt-compile", "clusopt-tune", "clusopt-run",
         "clusopt-safetensors"])
    assert (package / "lib" / "libclusopt_gpu_runtime.so").exists()
    for family in ("paca", "cast", "clustr"):
        assert (package / "lib" / "kernels" / f"{family}_kernels.so").exists()
    # Relocatable: no installed ELF file has a RUNPATH into the LLVM install
    # or the build directory.
    readelf = "/usr/lib/llvm-22/bin/llvm-readelf"
    for path in [*(package / "bin").iterdir(), *(package / "lib").rglob(
            "*.so")]:
        dynamic = run([readelf, "-d", path], cwd, env)
        for runpath in re.findall(r"R(?:UN)?PATH\)\s+Library r(?:un)?path: "
                                  r"\[(.*)\]", dynamic):
            for entry in runpath.split(":"):
                assert entry.startswith("$ORIGIN"), (path, runpath)


def test_compile_a_library(venv, tmp_path):
    bin_dir, env, cwd = venv
    source = REPO_ROOT / "test" / "Tools" / "clusopt-compile" / "Inputs" / \
        "attention.mlir"
    run([bin_dir / "clusopt-compile", source, "--target=x86-64", "-o",
         cwd / "attention.so"], cwd, env)
    assert (cwd / "attention.h").exists() and (cwd / "attention.json").exists()


def test_gpu_library_finds_the_installed_runtime(venv, tmp_path):
    # The installed clusopt-compile links GPU libraries against the
    # installed runtime; a plain dlopen of one needs nothing else. No CUDA
    # driver (CLUSOPT_LIBCUDA points nowhere): the constructor's module
    # load is recorded by the runtime, not fatal.
    if shutil.which("ptxas") is None and not any(
            (pathlib.Path(home) / "bin" / "ptxas").exists()
            for home in (os.environ.get("CUDA_HOME"), "/usr/local/cuda")
            if home):
        pytest.skip("no CUDA toolkit (ptxas) to build a GPU library")
    bin_dir, env, cwd = venv
    source = REPO_ROOT / "test" / "Tools" / "clusopt-compile" / "Inputs" / \
        "paca-gpu.mlir"
    run([bin_dir / "clusopt-compile", source, "--target=sm_80", "--emit=so",
         "-o", cwd / "gpu.so"], cwd, env)
    environment = dict(env, CLUSOPT_LIBCUDA=str(tmp_path / "no-libcuda.so"))
    package = package_dir(venv)
    code = ("import ctypes, sys\nctypes.CDLL(sys.argv[1])\n"
            "print(open('/proc/self/maps').read())")
    # Plain python -c, not importing clusopt, so nothing preloads anything.
    maps = run([bin_dir / "python", "-c", code, cwd / "gpu.so"], cwd,
               environment)
    assert str(package / "lib" / "libclusopt_gpu_runtime.so") in maps


def test_run_a_model_on_the_installed_kernels(venv):
    bin_dir, env, cwd = venv
    python(venv, "from clusopt import export\nfrom clusopt.models import paca"
                 "\nweights = paca.random_weights(paca.config('tiny'), seed=5)"
                 "\nexport.export_state_dict(weights, 'tiny.safetensors', "
                 "dtype='f32')")
    out = run([bin_dir / "clusopt-run", "--model", "paca_tiny", "--weights",
               "tiny.safetensors", "--random", "--runs", "1", "--threads",
               "2"], cwd, env)
    package = package_dir(venv)
    kernels = package / "lib" / "kernels" / "paca_kernels.so"
    assert f"kernels {kernels} (host)" in out, out
    assert "image 0 top-5" in out


def test_load_and_ops(venv):
    """clusopt.load on a clusopt-compile library, and clusopt.ops.attention
    on torch tensors, from the installed package (its _native call path
    included)."""
    bin_dir, env, cwd = venv
    source = REPO_ROOT / "test" / "Tools" / "clusopt-compile" / "Inputs" / \
        "attention.mlir"
    run([bin_dir / "clusopt-compile", source, "--target=x86-64", "-o",
         cwd / "attention.so"], cwd, env)
    python(venv, f"""
import numpy as np, torch
import clusopt
from clusopt import reference
rng = np.random.default_rng(0)
q = rng.standard_normal((1, 2, 50, 24)).astype(np.float32)
k = rng.standard_normal((1, 2, 7, 24)).astype(np.float32)
expected = reference.attention(q, [(k, k)])
library = clusopt.load({str(cwd / "attention.so")!r})
out = library.attention(torch.from_numpy(q), torch.from_numpy(k))
assert isinstance(out, torch.Tensor), type(out)
np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
import clusopt.ops
assert clusopt.ops.__file__.startswith({str(venv[0].parent)!r}), clusopt.ops.__file__
out = clusopt.ops.attention(torch.from_numpy(q), torch.from_numpy(k),
                            torch.from_numpy(k))
np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
out = torch.ops.clusopt.attention(torch.from_numpy(q), [torch.from_numpy(k)],
                                  [torch.from_numpy(k)])
np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
""")


def test_installed_package_has_the_imagenet_labels(venv):
    """clusopt.ray labels results from the class names installed with the
    package (clusopt/data), not from a checkout."""
    out = python(venv, "from clusopt import ray as r\nlabels = "
                       "r._imagenet_labels()\nprint(len(labels), labels[281])")
    assert out.strip() == "1000 tabby", out

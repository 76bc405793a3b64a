"""How the Python package finds clusopt's tools, its version and its kernel
cache, from a source checkout (the installed case is test_package.py)."""

import os
import pathlib
import re
import subprocess
import sys

from clusopt import toolchain
from clusopt.toolchain import REPO_ROOT, build_dir

PYTHON_DIR = REPO_ROOT / "python"
VERSION = re.search(r"project\(clusopt VERSION ([0-9.]+)",
                    (REPO_ROOT / "CMakeLists.txt").read_text()).group(1)


def run_python(args, **env):
    environment = dict(os.environ, PYTHONPATH=str(PYTHON_DIR), **env)
    return subprocess.run([sys.executable, *args], capture_output=True,
                          text=True, env=environment, timeout=120)


def test_version_matches_the_tools():
    proc = run_python(["-m", "clusopt", "--version"])
    assert proc.returncode == 0, proc.stderr
    tool = subprocess.run([str(build_dir() / "bin" / "clusopt-compile"),
                           "--version"], capture_output=True, text=True)
    assert proc.stdout == tool.stdout
    assert "(git unknown)" not in proc.stdout


def test_version_before_a_build(tmp_path):
    # No build directory: the version from CMakeLists.txt, the rest unknown.
    proc = run_python(["-m", "clusopt", "--version"],
                      CLUSOPT_BUILD_DIR=str(tmp_path / "none"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"clusopt {VERSION} (git unknown)\nLLVM unknown\n"


def test_help_and_paths():
    proc = run_python(["-m", "clusopt", "--help"])
    assert proc.returncode == 0 and "--version" in proc.stdout
    assert "clusopt-compile" in proc.stdout
    proc = run_python(["-m", "clusopt"])  # no option: the help
    assert proc.returncode == 0 and "usage: python -m clusopt" in proc.stdout
    proc = run_python(["-m", "clusopt", "--paths"])
    assert proc.returncode == 0, proc.stderr
    assert f"tools: {build_dir() / 'bin'}\n" in proc.stdout
    proc = run_python(["-m", "clusopt", "--bogus"])
    assert proc.returncode == 2 and "unrecognized arguments: --bogus" in \
        proc.stderr


def test_tool_wrapper_runs_the_tool():
    proc = run_python(["-c", "from clusopt._cli import clusopt_compile; "
                             "clusopt_compile()", "--version"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"clusopt {VERSION} (git ")


def test_tool_wrapper_without_tools(tmp_path):
    proc = run_python(["-c", "from clusopt._cli import clusopt_run; "
                             "clusopt_run()"],
                      CLUSOPT_BUILD_DIR=str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr == (
        f"clusopt-run: error: clusopt-run not found at "
        f"{tmp_path / 'bin' / 'clusopt-run'}; build clusopt first "
        f"(scripts/build.sh), install it (pip install .) or set "
        f"$CLUSOPT_BUILD_DIR\n")


def test_build_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv("CLUSOPT_BUILD_DIR", str(tmp_path))
    assert build_dir() == tmp_path
    monkeypatch.delenv("CLUSOPT_BUILD_DIR")
    # A checkout has no clusopt/bin: the tools are in build/.
    assert not toolchain.installed()
    assert build_dir() == REPO_ROOT / "build"


def test_kernel_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("CLUSOPT_CACHE_DIR", raising=False)
    monkeypatch.setenv("CLUSOPT_BUILD_DIR", str(tmp_path / "build"))
    assert toolchain.cache_dir() == tmp_path / "build" / "kernel-cache"
    # Tools in the package itself (an installed clusopt): the user's cache,
    # never the package's directory.
    monkeypatch.setenv("CLUSOPT_BUILD_DIR", str(toolchain.PACKAGE_DIR))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert toolchain.cache_dir() == tmp_path / "xdg" / "clusopt" / "harness"
    assert toolchain.cache_dir().is_dir()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert toolchain.cache_dir() == pathlib.Path(
        tmp_path, "home", ".cache", "clusopt", "harness")
    # One variable moves every cache, the checkout's harness cache too.
    monkeypatch.setenv("CLUSOPT_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("CLUSOPT_CACHE_DIR", str(tmp_path / "mine"))
    assert toolchain.cache_dir() == tmp_path / "mine" / "harness"
    assert toolchain.cache_root() == tmp_path / "mine"
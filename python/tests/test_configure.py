"""CMake's configure step stops with a message that says what to install or
pass when LLVM/MLIR 22 or clang is missing (pip install . shows the same)."""

import shutil
import subprocess

import pytest

from clusopt.toolchain import REPO_ROOT


def configure(tmp_path, *args, env=None):
    return subprocess.run(["cmake", "-G", "Ninja", "-S", str(REPO_ROOT),
                           "-B", str(tmp_path / "build"), *args],
                          capture_output=True, text=True, timeout=300,
                          env=env)


def test_without_mlir(tmp_path):
    proc = configure(tmp_path, f"-DMLIR_DIR={tmp_path}/none/lib/cmake/mlir")
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())
    assert "clusopt needs LLVM/MLIR 22 as Debian ships it, in " \
        "/usr/lib/llvm-22" in message
    assert "scripts/setup.sh installs them" in message
    assert f"looked in {tmp_path}/none/lib/cmake/mlir" in message


def test_without_clang(tmp_path):
    gcc = shutil.which("g++")
    if gcc is None:
        pytest.skip("no g++ to try")
    proc = configure(tmp_path, f"-DCMAKE_CXX_COMPILER={gcc}",
                     f"-DCMAKE_C_COMPILER={shutil.which('gcc')}")
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())
    assert f"clusopt needs clang (clang++-22; scripts/setup.sh installs " \
        f"it), not GNU {gcc}" in message

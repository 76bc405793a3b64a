#!/usr/bin/env bash
# Installs everything clusopt needs on a fresh Debian machine: LLVM/MLIR 22,
# clang 22, libomp 22 (the kernels' thread pool), SQLite (the tuning
# database), libpng and libjpeg-turbo (image input), Ninja and CMake from
# Debian, ccache (repeat builds, `pip install .` included) and python3-venv
# (the package test's fresh venv); from PyPI: NumPy, pytest, Pillow (the
# tests' reference for image decoding and resizing), scikit-build-core and
# nanobind (`pip install .` builds the C++ with them, and with
# --no-build-isolation downloads nothing), torch (clusopt.ops are PyTorch
# custom ops; about a minute to install), ray and pyarrow (batch inference
# on Ray Data), torch-mlir (the model importer, clusopt.importer; pinned:
# its IR text is what clusopt parses).
# Idempotent: when everything is present it only checks, in about a second
# (Python modules are looked up, not imported).
set -euo pipefail

APT_PACKAGES=(
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  clang-22 libclang-rt-22-dev clang-format-22 libomp-22-dev
  ninja-build cmake libsqlite3-dev libpng-dev libjpeg62-turbo-dev
  ccache python3-venv
)
# PyPI package[==pinned version]:module it provides.
PIP_PACKAGES=(numpy:numpy pytest:pytest pillow:PIL
  scikit-build-core:scikit_build_core nanobind:nanobind torch:torch "ray[data]:ray"
  pyarrow:pyarrow pandas:pandas torch-mlir==20261001:torch_mlir)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
    grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mapfile -t missing_pip < <(python3 -c '
import importlib.metadata, importlib.util, sys
for entry in sys.argv[1:]:
    package, module = entry.split(":")
    name, _, pinned = package.partition("==")
    if importlib.util.find_spec(module) is None or (
            pinned and importlib.metadata.version(name) != pinned):
        print(package)' "${PIP_PACKAGES[@]}")
if ((${#missing_pip[@]})); then
  echo "setup: installing ${missing_pip[*]}"
  python3 -m pip install -q "${missing_pip[@]}"
fi

#!/usr/bin/env bash
# Installs everything clusopt needs on a fresh Debian machine: LLVM/MLIR 22,
# clang 22, libomp 22 (the kernels' thread pool), SQLite (the tuning
# database), libpng and libjpeg-turbo (image input), Ninja and CMake from
# Debian, NumPy, pytest, Pillow (the tests' reference for image decoding
# and resizing) and Ray Data (clusopt.ray) from PyPI.
# Idempotent: when everything is present it only checks, in about a second.
set -euo pipefail

APT_PACKAGES=(
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  clang-22 libclang-rt-22-dev clang-format-22 libomp-22-dev
  ninja-build cmake libsqlite3-dev libpng-dev libjpeg62-turbo-dev
)
PIP_PACKAGES=(numpy pytest pillow nanobind "ray[data]")

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

# find_spec, not import: importing ray.data takes seconds.
if ! python3 -c "import importlib.util as u, sys; sys.exit(not all(
    u.find_spec(m) for m in ('numpy', 'pytest', 'PIL', 'nanobind', 'ray',
                             'pandas', 'pyarrow')))" 2>/dev/null; then
  echo "setup: installing ${PIP_PACKAGES[*]}"
  python3 -m pip install -q "${PIP_PACKAGES[@]}"
fi

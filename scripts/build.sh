#!/usr/bin/env bash
# Configures (once) and builds clusopt into build/ (tools in build/bin/).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${CLUSOPT_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCLUSOPT_ENABLE_WERROR=ON >/dev/null
fi
ninja -C "$BUILD_DIR" -j"${CLUSOPT_JOBS:-2}"

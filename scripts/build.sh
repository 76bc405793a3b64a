#!/usr/bin/env bash
# Configures (once) and builds clusopt.
#   scripts/build.sh [TARGET...]          build/ (tools in build/bin/)
#   scripts/build.sh --asan [TARGET...]   build-asan/: the checked build, with
#       assertions, ASan/UBSan and libFuzzer coverage in the project's code
#       (LLVM/MLIR stay as Debian ships them), at -O1 to build quickly
# Without targets it builds everything. CLUSOPT_BUILD_DIR and
# CLUSOPT_ASAN_BUILD_DIR choose the directories, CLUSOPT_JOBS the jobs (2).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache (when installed) keys on paths relative to this: build/, build-asan/
# and the pip builds share their objects.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$PWD")}
args=(-DCMAKE_BUILD_TYPE=Release)
BUILD_DIR=${CLUSOPT_BUILD_DIR:-build}
if [ "${1:-}" = --asan ]; then
  shift
  BUILD_DIR=${CLUSOPT_ASAN_BUILD_DIR:-build-asan}
  args=(-DCMAKE_BUILD_TYPE=Release
    -DCMAKE_C_FLAGS_RELEASE=-O1 -DCMAKE_CXX_FLAGS_RELEASE=-O1
    -DCLUSOPT_ENABLE_ASSERTIONS=ON "-DCLUSOPT_SANITIZERS=address;undefined"
    -DCLUSOPT_FUZZ_COVERAGE=ON)
fi
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" "${args[@]}" \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCLUSOPT_ENABLE_WERROR=ON >/dev/null
fi
ninja -C "$BUILD_DIR" -j"${CLUSOPT_JOBS:-2}" "$@"

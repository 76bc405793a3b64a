#!/usr/bin/env bash
# clusopt's main job, end to end on a bundled example: installs what is
# missing, builds, then parses and prints a PaCa-style layer written in the
# clus dialect, lowers it with the reference pipeline (clus-to-llvm) and runs
# it with mlir-runner.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
BIN=${CLUSOPT_BUILD_DIR:-build}/bin
LIB=/usr/lib/llvm-22/lib
EXAMPLE=${1:-docs/examples/paca_attention.mlir}

echo "== $EXAMPLE, parsed and verified by clusopt-opt"
"$BIN/clusopt-opt" "$EXAMPLE"
echo
echo "== lowered by --convert-clus-to-linalg: $("$BIN/clusopt-opt" "$EXAMPLE" \
  --convert-clus-to-linalg | grep -c linalg.generic) linalg.generic ops"
echo "== run through --clus-to-llvm and mlir-runner"
"$BIN/clusopt-opt" "$EXAMPLE" --clus-to-llvm |
  /usr/lib/llvm-22/bin/mlir-runner -e main -entry-point-result=void \
    -shared-libs="$LIB/libmlir_runner_utils.so,$LIB/libmlir_c_runner_utils.so"

#!/usr/bin/env bash
# The GPU checks, for a machine with an NVIDIA GPU (sm_80 or newer), the
# CUDA driver and the CUDA toolkit's ptxas ($CUDA_HOME/bin or
# /usr/local/cuda/bin). Builds clusopt, then runs
#   1. the numerics harness (python/tests/test_numerics.py, every shape of
#      docs/numerics.md) on the GPU backend: clus-gpu-to-nvvm@sm_90 on a
#      GPU of compute capability 9.0 or more, else clus-gpu-to-nvvm@sm_80
#      (override with $CLUSOPT_GPU_TARGET=sm_80|sm_86|sm_89|sm_90),
#   2. python/tests/test_gpu_runtime.py and test_gpu_compile.py,
#   3. the lit tests of the GPU path (names matching gpu, cuda or nvvm),
# and prints a summary. Selection options go to the numerics pytest run, e.g.
#   scripts/gpu-check.sh -k attention
# Without a usable GPU it stops after the build with the reason (there the
# GPU tests skip; scripts/test.sh runs the compile-only ones everywhere).
set -uo pipefail

usage() {
  cat <<'EOF'
usage: scripts/gpu-check.sh [-h|--help] [-k EXPR] [-m EXPR] [-x] [-v] [--lf]
                            [-- PYTEST-ARGS...]

Builds clusopt, then runs the GPU checks on this machine's NVIDIA GPU
(sm_80 or newer; needs the CUDA driver and ptxas): the numerics harness on
clus-gpu-to-nvvm, the GPU runtime and compile tests, and the lit GPU tests;
prints a summary. Stops after the build when no GPU is usable.

  -h, --help      print this help and exit (nothing is built)
  -k EXPR, -m EXPR, -x, -v, --lf
                  passed to the numerics pytest run (e.g. -k attention)
  -- ARGS...      everything after -- is passed to that run unchanged

Environment: CLUSOPT_GPU_TARGET=sm_80|sm_86|sm_89|sm_90 (default: sm_90 on
compute capability 9.0 or more, else sm_80), CLUSOPT_BUILD_DIR (build), LIT.
EOF
}

# Only known options: a typo must not start a long build and GPU run.
pytest_args=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -k|-m)
      if [ $# -lt 2 ]; then
        echo "gpu-check: $1 needs a value" >&2; usage >&2; exit 2
      fi
      pytest_args+=("$1" "$2"); shift 2 ;;
    -x|-v|-vv|--lf) pytest_args+=("$1"); shift ;;
    --) shift; pytest_args+=("$@"); break ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.." || exit 1
BUILD_DIR=${CLUSOPT_BUILD_DIR:-build}
export CLUSOPT_BUILD_DIR=$BUILD_DIR
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
LIT=${LIT:-/usr/lib/llvm-22/bin/lit}

echo "== build"
scripts/build.sh || exit 1

echo "== GPU"
# Three lines: compute capability (major * 10 + minor), driver version, name.
if ! info=$(python3 - <<'EOF'
import sys
from clusopt import gpu
ok, reason = gpu.available()
if not ok:
    sys.exit(f"no usable GPU: {reason}")
print(gpu.load().clusopt_gpu_compute_capability())
print(gpu.driver_version())
print(gpu.device_name())
EOF
); then
  echo "gpu-check: nothing to check on this machine (see above)" >&2
  exit 1
fi
{ read -r cc; read -r driver; read -r device; } <<<"$info"
if [ -n "${CLUSOPT_GPU_TARGET:-}" ]; then
  target=$CLUSOPT_GPU_TARGET
elif [ "$cc" -ge 90 ]; then
  target=sm_90
else
  target=sm_80
fi
echo "$device: compute capability $cc, driver $driver; target $target"

logs=$(mktemp -d)
names=()
results=()
seconds=()
details=()

# step NAME COMMAND...: runs a check, keeping its status, time and the
# counts it printed (pytest's last line, lit's totals).
counts='^(=+ )?[0-9]+ (passed|failed|skipped|deselected|errors?)\b|^  (Passed|Failed|Unsupported|Unexpectedly Passed|Expectedly Failed|Timed Out) *:'
step() {
  local name=$1 log="$logs/${#names[@]}.log" start=$SECONDS status
  shift
  echo "== $name"
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  names+=("$name")
  results+=("$([ "$status" -eq 0 ] && echo PASS || echo "FAIL ($status)")")
  seconds+=("$((SECONDS - start))")
  details+=("$(grep -E "$counts" "$log" | tr '\n' ' ' | tr -s ' ')")
}

step "numerics on clus-gpu-to-nvvm@$target" \
  python3 -m pytest -q -rs python/tests/test_numerics.py --full \
    --backend "clus-gpu-to-nvvm@$target" ${pytest_args[@]+"${pytest_args[@]}"}
step "GPU runtime and GPU compile tests" \
  python3 -m pytest -q -rs python/tests/test_gpu_runtime.py \
    python/tests/test_gpu_compile.py
step "lit GPU tests" \
  "$LIT" -sv "$BUILD_DIR/test" --filter '(?i)gpu|cuda|nvvm'

echo
echo "== summary: $device (sm_$cc), backend clus-gpu-to-nvvm@$target"
failed=0
for i in "${!names[@]}"; do
  printf '%-40s %-9s %5ss  %s\n' "${names[$i]}" "${results[$i]}" \
    "${seconds[$i]}" "${details[$i]}"
  [ "${results[$i]}" = PASS ] || failed=1
done
rm -rf "$logs"
exit $failed

#!/usr/bin/env bash
# clusopt's main job: installs what is missing, builds, then shows the
# product on this CPU (scripts/demo.py runs the steps):
#   1. tunes briefly and compiles a PaCa layer (docs/examples/paca_layer.mlir)
#      with the optimised pipeline;
#   2. checks the compiled kernels against the NumPy float64 oracle;
#   3. classifies a bundled photo with paca_tiny on seeded random weights;
#   4. times paca_tiny against its dense baseline at 224 and 448;
#   5. prints a summary table.
# Under a minute once built. README.md ("Two commands") explains each line.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
Usage: scripts/demo.sh [--quick] [--keep]

Installs what is missing (scripts/setup.sh), builds (scripts/build.sh), then
tunes and compiles a PaCa-ViT layer for this CPU, checks it against the NumPy
oracle, runs paca_tiny on runtime/data/cat.jpg with random weights and times
it against its dense baseline. Under a minute once built.

  --quick   CI size: 1 s of tuning and latency at 224 only, one timed run
  --keep    keep the scratch directory (tuning database, compiled layer,
            weights) and print its path
  --help    this text

Threads: OMP_NUM_THREADS, else every core. Exits 1 if a step fails or the
layer misses the oracle's tolerance.
EOF
}

args=()
for arg in "$@"; do
  case "$arg" in
  -h | --help) usage; exit 0 ;;
  --quick | --keep) args+=("$arg") ;;
  *) echo "demo.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

start=$(date +%s%N)
scripts/setup.sh
echo "demo: building clusopt (a few minutes the first time, seconds after)"
if ! log=$(scripts/build.sh 2>&1); then
  echo "$log" >&2
  echo "demo.sh: the build failed (above)" >&2
  exit 1
fi
setup_ms=$((($(date +%s%N) - start) / 1000000))
exec python3 scripts/demo.py --setup-ms "$setup_ms" "${args[@]}"

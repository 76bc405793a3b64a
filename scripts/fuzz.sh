#!/usr/bin/env bash
# Fuzzes the runtime's safetensors reader with libFuzzer for a bounded time.
#   scripts/fuzz.sh [SECONDS]   (default 60)
# Builds build/bin/clusopt-safetensors-fuzzer (clang, ASan/UBSan, coverage),
# starts from the seed corpus in runtime/fuzz/corpus (copied, so new inputs
# stay out of the repository) and fails on any crash, leak, sanitizer report
# or timeout; the input that caused it is kept in $BUILD_DIR/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
BUILD_DIR=${CLUSOPT_BUILD_DIR:-build}
[ -f "$BUILD_DIR/build.ninja" ] || scripts/build.sh
ninja -C "$BUILD_DIR" -j"${CLUSOPT_JOBS:-2}" clusopt-safetensors-fuzzer >/dev/null

work="$BUILD_DIR/fuzz"
rm -rf "$work/corpus"
mkdir -p "$work/corpus"
cp runtime/fuzz/corpus/* "$work/corpus/"
"$BUILD_DIR/bin/clusopt-safetensors-fuzzer" "$work/corpus" \
  -dict=runtime/fuzz/safetensors.dict -max_total_time="$SECONDS_TO_RUN" \
  -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" 2>"$work/log" || {
  tail -n 40 "$work/log"
  echo "fuzz: FAILED; reproducer in $work/"
  exit 1
}
grep -E "^stat::number_of_executed_units|^stat::new_units_added|cov:" \
  "$work/log" | tail -n 3
echo "fuzz: OK ($SECONDS_TO_RUN s, no crashes)"

#!/usr/bin/env bash
# Fuzzes the runtime's safetensors reader and image decoders with libFuzzer for
# a bounded time each.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   (default 60; safetensors image)
# Builds build/bin/clusopt-TARGET-fuzzer (clang, ASan/UBSan, coverage),
# starts from the seed corpus (runtime/fuzz/corpus for safetensors,
# runtime/fuzz/image-corpus (PNG and JPEG) for image; copied, so new inputs stay out of the
# repository) and fails on any crash, leak, sanitizer report or timeout; the
# input that caused it is kept in $BUILD_DIR/fuzz/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(safetensors image)
BUILD_DIR=${CLUSOPT_BUILD_DIR:-build}
[ -f "$BUILD_DIR/build.ninja" ] || scripts/build.sh

for target in "${TARGETS[@]}"; do
  case $target in
  safetensors) corpus=runtime/fuzz/corpus dict=runtime/fuzz/safetensors.dict ;;
  image) corpus=runtime/fuzz/image-corpus dict=runtime/fuzz/image.dict ;;
  *)
    echo "fuzz: unknown target '$target' (safetensors, image)"
    exit 2
    ;;
  esac
  ninja -C "$BUILD_DIR" -j"${CLUSOPT_JOBS:-2}" "clusopt-$target-fuzzer" \
    >/dev/null
  work="$BUILD_DIR/fuzz/$target"
  rm -rf "$work/corpus"
  mkdir -p "$work/corpus"
  cp "$corpus"/* "$work/corpus/"
  "$BUILD_DIR/bin/clusopt-$target-fuzzer" "$work/corpus" \
    -dict="$dict" -max_total_time="$SECONDS_TO_RUN" \
    -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" 2>"$work/log" || {
    tail -n 40 "$work/log"
    echo "fuzz: $target FAILED; reproducer in $work/"
    exit 1
  }
  grep -E "^stat::number_of_executed_units|^stat::new_units_added|cov:" \
    "$work/log" | tail -n 3
  echo "fuzz: $target OK ($SECONDS_TO_RUN s, no crashes)"
done

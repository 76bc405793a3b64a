#!/usr/bin/env bash
# Fuzzes with libFuzzer for a bounded time per target.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   (default 60; safetensors image ir)
# Targets:
#   safetensors  the runtime's safetensors reader (runtime/fuzz/corpus)
#   image        the runtime's PNG and JPEG decoding (runtime/fuzz/image-corpus)
#   ir           the compiler (tools/fuzz/clusopt-ir-fuzzer.cpp): MLIR parser
#                and verifiers, then the reference, CPU (vector width 8 and
#                16, x86-64 objects) and GPU (PTX) pipelines, from
#                tools/fuzz/ir-corpus; built in the checked build (build-asan:
#                assertions, ASan/UBSan, coverage of the compiler's code)
# Each target is clusopt-TARGET-fuzzer (clang, ASan/UBSan, coverage). The seed
# corpus is copied to $BUILD_DIR/fuzz/TARGET/corpus (new inputs stay out of
# the repository). Any crash, assertion, leak, sanitizer report, timeout
# (more than CLUSOPT_FUZZ_TIMEOUT seconds for one input) or memory blow-up
# (more than CLUSOPT_FUZZ_RSS_MB) fails the run; the input that caused it is
# kept in $BUILD_DIR/fuzz/TARGET/ (crash-*, timeout-*, oom-*, leak-*).
#
# Environment:
#   CLUSOPT_FUZZ_JOBS=N        N fuzzing processes sharing the corpus
#                              (libFuzzer -fork=N); default 1
#   CLUSOPT_FUZZ_KEEP_GOING=1  do not stop at the first finding: collect every
#                              reproducer until the time is up (fork mode),
#                              then fail if there was any
#   CLUSOPT_FUZZ_TIMEOUT, CLUSOPT_FUZZ_RSS_MB   per-input limits
#                              (default 10 s and 2048 MB; ir: 30 s, 4096 MB)
# A 30-minute campaign of the compiler on 2 processes:
#   CLUSOPT_FUZZ_JOBS=2 CLUSOPT_FUZZ_KEEP_GOING=1 scripts/fuzz.sh 1800 ir
# To see what a reproducer does (diagnostics, the stage that breaks):
#   CLUSOPT_FUZZ_VERBOSE=1 build-asan/bin/clusopt-ir-fuzzer FILE
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(safetensors image ir)
JOBS=${CLUSOPT_FUZZ_JOBS:-1}

symbolizer=/usr/lib/llvm-22/bin/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

for target in "${TARGETS[@]}"; do
  max_len=4096 timeout=${CLUSOPT_FUZZ_TIMEOUT:-10} rss=${CLUSOPT_FUZZ_RSS_MB:-2048}
  extra=()
  case $target in
  safetensors)
    corpus=runtime/fuzz/corpus dict=runtime/fuzz/safetensors.dict
    build_dir=${CLUSOPT_BUILD_DIR:-build} build=(scripts/build.sh)
    ;;
  image)
    corpus=runtime/fuzz/image-corpus dict=runtime/fuzz/image.dict
    build_dir=${CLUSOPT_BUILD_DIR:-build} build=(scripts/build.sh)
    ;;
  ir)
    corpus=tools/fuzz/ir-corpus dict=tools/fuzz/mlir.dict max_len=8192
    timeout=${CLUSOPT_FUZZ_TIMEOUT:-30} rss=${CLUSOPT_FUZZ_RSS_MB:-4096}
    build_dir=${CLUSOPT_ASAN_BUILD_DIR:-build-asan}
    build=(scripts/build.sh --asan)
    # LLVM and MLIR fill global caches lazily, so almost every input frees
    # less than it allocates and libFuzzer would run it twice to look for a
    # leak (about 40% more time, and no leak found in the seeds).
    extra=(-detect_leaks=0)
    ;;
  *)
    echo "fuzz: unknown target '$target' (safetensors, image, ir)"
    exit 2
    ;;
  esac
  "${build[@]}" "clusopt-$target-fuzzer" >/dev/null
  work="$build_dir/fuzz/$target"
  rm -rf "$work/corpus"
  rm -f "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-*
  mkdir -p "$work/corpus"
  cp "$corpus"/* "$work/corpus/"
  mode=()
  if [ "$JOBS" -gt 1 ] || [ -n "${CLUSOPT_FUZZ_KEEP_GOING:-}" ]; then
    mode=(-fork="$JOBS")
    [ -n "${CLUSOPT_FUZZ_KEEP_GOING:-}" ] &&
      mode+=(-ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  fi
  status=0
  "$build_dir/bin/clusopt-$target-fuzzer" "$work/corpus" "${mode[@]}" \
    -dict="$dict" -max_total_time="$SECONDS_TO_RUN" -max_len="$max_len" \
    -timeout="$timeout" -rss_limit_mb="$rss" -print_final_stats=1 \
    -artifact_prefix="$work/" "${extra[@]}" 2>"$work/log" || status=$?
  findings=$(find "$work" -maxdepth 1 -type f \
    \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \
    -o -name 'leak-*' \) | sort)
  if [ "$status" -ne 0 ] || [ -n "$findings" ]; then
    tail -n 40 "$work/log"
    echo "fuzz: $target FAILED; reproducers:"
    echo "${findings:-  (none written; see $work/log)}"
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added|cov:" \
    "$work/log" | tail -n 3
  echo "fuzz: $target OK ($SECONDS_TO_RUN s, no findings)"
done

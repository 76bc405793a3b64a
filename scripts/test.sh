#!/usr/bin/env bash
# Runs every clusopt test: installs what is missing, builds, then runs
#   1. clang-format on the project's C++ (LLVM style),
#   2. the lit/FileCheck suite, plain and with the generic-form round trip,
#   3. the pytest suite: the oracle's self-tests, clusopt-compile, and the
#      numerics harness on the reference pipeline and on the optimised CPU
#      pipeline at AVX2 and AVX-512 (each skipped if this CPU lacks it),
#      and `pip install .` into a fresh venv (python/tests/test_package.py),
#   4. the numerics of the index-heavy ops and of the optimised kernels again
#      under ASan/UBSan,
#   5. the safetensors reader and the image decoders under libFuzzer for 20 s
#      each (scripts/fuzz.sh),
#   6. the checked build (build-asan: assertions on and ASan/UBSan in the
#      project's code): the lit suite through its tools, then the compiler's
#      IR fuzzer for CLUSOPT_IR_FUZZ_SECONDS (default 120 s).
# The runtime's own test drivers run in the lit suite, built with ASan/UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${CLUSOPT_BUILD_DIR:-build}
export CLUSOPT_BUILD_DIR=$BUILD_DIR

echo "== clang-format"
git ls-files '*.cpp' '*.h' | xargs clang-format-22 --dry-run --Werror

echo "== lit"
# The cubin tests need ptxas (CUDA toolkit); fail rather than skip them.
export CLUSOPT_REQUIRE_PTXAS=1
ninja -C "$BUILD_DIR" check-clusopt
echo "== lit (generic-form round trip)"
/usr/lib/llvm-22/bin/lit -s --param roundtrip=1 "$BUILD_DIR/test"

echo "== pytest"
python3 -m pytest -q python/tests --full \
  --backend clus-to-llvm@x86-64 \
  --backend clus-cpu-to-llvm@x86-64-v3 --backend clus-cpu-to-llvm@x86-64-v4

echo "== pytest under ASan/UBSan (out-of-range indices, gathers, scatters)"
LD_PRELOAD=$(clang-22 -print-file-name=libclang_rt.asan-x86_64.so) \
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  python3 -m pytest -q python/tests/test_numerics.py python/tests/test_sanitizer.py \
    --backend clus-to-llvm@x86-64+asan -m "not large" \
    -k "aggregate or broadcast or cluster_attention or dpc_knn or topk or kmeans or sanitizer"
echo "== pytest under ASan/UBSan (optimised CPU kernels, OpenMP threads)"
LD_PRELOAD=$(clang-22 -print-file-name=libclang_rt.asan-x86_64.so) \
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  python3 -m pytest -q python/tests/test_numerics.py \
    --backend clus-cpu-to-llvm@x86-64-v3+asan -m "not large"
echo "== fuzz the safetensors reader and the image decoders (20 s each)"
scripts/fuzz.sh 20 safetensors image

echo "== checked build (assertions, ASan/UBSan): lit"
scripts/build.sh --asan check-clusopt
echo "== fuzz the compiler under the checked build"
scripts/fuzz.sh "${CLUSOPT_IR_FUZZ_SECONDS:-120}" ir

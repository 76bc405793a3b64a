//===- Gelu.cpp - The exact GELU, per ISA, and the ISA checks -------------===//

#include "runtime/ukernels/UKernels.h"

#include <cstdlib>

using namespace clusopt::ukernel;

namespace {

// A flag computed once, without a guarded static (which would need the C++
// runtime in kernel libraries): 0 not yet known, 1 false, 2 true. Racing
// threads compute the same value.
template <typename Compute> bool cachedFlag(std::atomic<int> &flag, Compute f) {
  int known = flag.load(std::memory_order_relaxed);
  if (!known) {
    known = f() ? 2 : 1;
    flag.store(known, std::memory_order_relaxed);
  }
  return known == 2;
}

CLUSOPT_VECTOR_CLONES void geluSpanPortable(float *v, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    v[i] = geluExact(v[i]);
}

#ifdef CLUSOPT_WIDE_GEMM
template <int64_t Lanes>
[[gnu::always_inline]] inline void geluSpanDivisionFree(float *v, int64_t n) {
  int64_t i = 0;
  for (; i + Lanes <= n; i += Lanes)
    storeVec<Lanes>(v + i, geluVec<Lanes>(loadVec<Lanes>(v + i)));
  for (; i < n; ++i)
    v[i] = geluExact(v[i]);
}

__attribute__((target("arch=x86-64-v4,no-prefer-256-bit"))) void
geluSpanAvx512(float *v, int64_t n) {
  geluSpanDivisionFree<16>(v, n);
}

__attribute__((target("arch=x86-64-v3"))) void geluSpanAvx2(float *v,
                                                            int64_t n) {
  geluSpanDivisionFree<8>(v, n);
}
#endif

} // namespace

bool clusopt::ukernel::hasAvx512() {
#ifdef CLUSOPT_WIDE_GEMM
  static std::atomic<int> flag{0};
  return cachedFlag(flag, [] {
    return !std::getenv("CLUSOPT_GEMM_NO_AVX512") &&
           __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
  });
#else
  return false;
#endif
}

bool clusopt::ukernel::geluVectorised() {
#ifdef CLUSOPT_WIDE_GEMM
  static std::atomic<int> flag{0};
  return cachedFlag(flag, [] {
    return hasAvx512() ||
           (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  });
#else
  return false;
#endif
}

void clusopt::ukernel::geluSpan(float *v, int64_t n) {
#ifdef CLUSOPT_WIDE_GEMM
  if (hasAvx512())
    return geluSpanAvx512(v, n);
  if (geluVectorised())
    return geluSpanAvx2(v, n);
#endif
  geluSpanPortable(v, n);
}

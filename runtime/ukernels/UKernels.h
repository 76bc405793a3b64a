//===- UKernels.h - clusopt's micro-kernels, C++ side ------------*- C++
//-*-===//
//
// The packed-panel GEMM, the GELU and the parallel loop that the runtime's
// layers (runtime/Layers.cpp) and generated code (through the C ABI in
// clusopt_ukernels.h) share. Built into libclusopt_ukernels.a, which kernel
// libraries link, so nothing here may need the C++ runtime library
// (exceptions, RTTI, operator new, guarded statics) or LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_UKERNELS_UKERNELS_H
#define CLUSOPT_RUNTIME_UKERNELS_UKERNELS_H

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// The AVX-512 kernels (called where the CPU has it) next to the
// target_clones ones: x86-64 only.
#if defined(__x86_64__) && !defined(CLUSOPT_NO_TARGET_CLONES)
#define CLUSOPT_WIDE_GEMM 1
#endif

// The hot loops are cloned for AVX-512 and AVX2 and picked at load time:
// the runtime and the kernels' library are built without -march so that
// they stay portable, and at the baseline (SSE2) these loops ran at a
// quarter of the vector width.
#ifdef CLUSOPT_WIDE_GEMM
#define CLUSOPT_VECTOR_CLONES                                                  \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLUSOPT_VECTOR_CLONES
#endif

namespace clusopt::ukernel {

//===----------------------------------------------------------------------===//
// Vectors and GELU
//===----------------------------------------------------------------------===//

// Lanes floats as one value: clang vector types make a kernel's registers
// explicit, so its sums stay in registers whatever the epilogue (left to
// SROA and the SLP vectoriser, a direct store epilogue spilled them and
// came out scalar).
template <int64_t Lanes>
using VecOf = float __attribute__((ext_vector_type(Lanes)));

template <int64_t Lanes>
[[gnu::always_inline]] inline VecOf<Lanes> loadVec(const float *p) {
  VecOf<Lanes> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <int64_t Lanes>
[[gnu::always_inline]] inline void storeVec(float *p, VecOf<Lanes> v) {
  std::memcpy(p, &v, sizeof(v));
}

// erf as the rational approximation Eigen and XLA use for f32: odd
// numerator over even denominator on [-4, 4], where erf already rounds to
// ±1 in f32. Inlined into each clone so that it vectorises there.
// Numerator and denominator for x² (float or a clang vector of floats).
template <typename T>
[[gnu::always_inline]] inline void erfTerms(T x2, T &p, T &q) {
  p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
}

[[gnu::always_inline]] inline float erfRational(float a) {
  float x = std::min(4.0f, std::max(-4.0f, a)), p, q;
  erfTerms(x * x, p, q);
  return x * p / q;
}

[[gnu::always_inline]] inline float geluExact(float v) {
  return 0.5f * v * (1.0f + erfRational(v * 0.70710678118654752f));
}

#ifdef CLUSOPT_WIDE_GEMM
// m = 1/m for m in [0.0142, 2.4] from the CPU's reciprocal estimate plus
// Newton steps: AVX-512's 14-bit estimate needs one step, AVX2's 12-bit
// one two, for a relative error under an f32 ulp. Not always_inline:
// the intrinsics need their target, and LLVM inlines these into the
// matching clone.
// (By reference: vectors by value would change the ABI between clones.)
__attribute__((target("arch=x86-64-v4,no-prefer-256-bit"))) inline void
invert(VecOf<16> &m) {
  VecOf<16> r = __builtin_bit_cast(
      VecOf<16>, _mm512_rcp14_ps(__builtin_bit_cast(__m512, m)));
  m = r * (2.0f - m * r);
}

__attribute__((target("arch=x86-64-v3"))) inline void invert(VecOf<8> &m) {
  VecOf<8> r = __builtin_bit_cast(VecOf<8>,
                                  _mm256_rcp_ps(__builtin_bit_cast(__m256, m)));
  r = r * (2.0f - m * r);
  m = r * (2.0f - m * r);
}

// The GELU without a division: the division's throughput bounded GELU,
// which took 40% of PaCa's depthwise-convolution-plus-GELU time. 1/|q|
// comes from `invert` (the exponent trick and three Newton steps before it
// were 10% slower). (|q| is in [0.0142, 2.4] on the clamped range.) Only
// where geluVectorised() holds: `invert` needs AVX2 or AVX-512.
template <int64_t Lanes>
[[gnu::always_inline]] inline VecOf<Lanes> geluVec(VecOf<Lanes> a) {
  using Vec = VecOf<Lanes>;
  Vec x = __builtin_elementwise_min(
      __builtin_elementwise_max(a * 0.70710678118654752f, Vec(-4.0f)),
      Vec(4.0f));
  Vec p, q;
  erfTerms(x * x, p, q);
  Vec r = -q; // positive
  invert(r);
  return (0.5f * a) * (1.0f - (x * p) * r);
}
#endif

/// Whether the AVX-512 kernels run here (AVX-512 F/BW/DQ/VL).
/// CLUSOPT_GEMM_NO_AVX512 in the environment says no (tests use it to cover
/// the AVX2 kernels on AVX-512 machines).
bool hasAvx512();
/// Whether this CPU runs geluVec (AVX-512, or AVX2 with FMA).
bool geluVectorised();
/// v[i] = GELU(v[i]), in the widest form this CPU runs.
void geluSpan(float *v, int64_t n);

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

/// Calls `body(i)` for every i in [begin, end), in dynamic chunks across
/// libomp's pool: thread t takes the t-th contiguous share of the range
/// first, then chunks of the others' shares that are left. `body` must be
/// safe to run concurrently. Inside a parallel region it runs on the
/// calling thread alone.
template <typename Body>
void parallelFor(int64_t begin, int64_t end, const Body &body) {
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (end - begin <= 1 || threads == 1) {
    for (int64_t i = begin; i < end; ++i)
      body(i);
    return;
  }
  // Thread t owns the t-th contiguous share of the range and takes it in
  // chunks of at most 1/4 of it, shrinking (guided) to single tasks at
  // its end; a thread that finishes its share takes chunks from the
  // others'. Owning shares keeps each thread on the same rows from layer
  // to layer (the tasks of every loop here are row-major), so that the
  // rows it reads are the ones it wrote, in its own L2, instead of
  // crossing from the other core's. Stealing still covers tasks that
  // differ in cost and the uneven cores of a shared VM. Chunks come from
  // atomic counters rather than schedule(dynamic): libomp's dispatcher
  // formats strings on every loop start and chunk (2% of a model's time
  // in vsnprintf).
  struct alignas(64) Share {
    std::atomic<int64_t> next;
    int64_t end, most;
  };
  constexpr int kMaxShares = 64;
  int shares = std::min(threads, kMaxShares);
  Share share[kMaxShares];
  int64_t n = end - begin;
  for (int t = 0; t < shares; ++t) {
    int64_t first = begin + n * t / shares, last = begin + n * (t + 1) / shares;
    share[t].next.store(first, std::memory_order_relaxed);
    share[t].end = last;
    share[t].most = std::max<int64_t>(1, (last - first) / 4);
  }
#pragma omp parallel
  {
    int self = omp_get_thread_num() % shares;
    for (int k = 0; k < shares; ++k) {
      Share &sh = share[(self + k) % shares];
      int64_t first = sh.next.load(std::memory_order_relaxed);
      while (first < sh.end) {
        int64_t chunk = std::clamp<int64_t>((sh.end - first) / 2, 1, sh.most);
        if (!sh.next.compare_exchange_weak(first, first + chunk,
                                           std::memory_order_relaxed))
          continue;
        for (int64_t i = first, last = std::min(sh.end, first + chunk);
             i < last; ++i)
          body(i);
        first = sh.next.load(std::memory_order_relaxed);
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

/// Output columns per packed panel: three AVX-512 vectors, six AVX2 ones.
/// Panels of 48 also fit PaCa's widths (96, 192, 384, 768, 1536) exactly.
constexpr int64_t kPanel = 48;

/// Floats that packPanels writes for a depth-k, n-column B.
inline int64_t packedPanelsSize(int64_t k, int64_t n) {
  return (n + kPanel - 1) / kPanel * k * kPanel;
}

/// B [k, n] (element (i, j) at b[i·rowStride + j·colStride]) into panels:
/// panel p holds, for every i, columns [p·kPanel, (p+1)·kPanel) of row i,
/// zero-padded past n. dst has packedPanelsSize(k, n) floats.
void packPanels(const float *b, int64_t k, int64_t n, int64_t rowStride,
                int64_t colStride, float *dst);

/// A GemmOperands row stride that stands for dense rows (in or out).
constexpr int64_t kDenseRows = INT64_MIN;

/// Output pixel (oy, ox)'s k×k window of an NHWC image `img` (h × w × cin)
/// at stride s and padding p, zero-padded, into dst as k window rows of
/// k·cin floats: the columns (ky, kx, cin) of im2col on tokens.
void gatherWindow(const float *img, float *dst, int64_t oy, int64_t ox,
                  int64_t h, int64_t w, int64_t cin, int64_t k, int64_t s,
                  int64_t p);

/// Where a GEMM y = x · B (+ bias) reads its rows and writes its results.
/// Rows are the tokens (b, n) of images of `tokens` tokens each. The
/// head-split forms read attention's output and write its inputs directly,
/// which saves a copy of each through mergeHeads/splitHeads (and 60k small
/// memcpys per PaCa forward).
struct GemmOperands {
  const float *x = nullptr;
  // >1: x is [B, xHeads, tokens, in/xHeads]; else rows at xRowStride
  // (kDenseRows: in).
  int64_t xHeads = 1, xRowStride = kDenseRows;
  float *y = nullptr;
  // >1: y is [B, yHeads, tokens, out/yHeads]; else rows at yRowStride
  // (kDenseRows: out).
  int64_t yHeads = 1, yRowStride = kDenseRows;
  int64_t tokens = 1;
  // Added to the result (plain y only), rows at addRowStride (kDenseRows: out):
  // a residual, or y to accumulate.
  const float *add = nullptr;
  int64_t addRowStride = kDenseRows;
  bool gelu = false;
  // A dense convolution's implicit im2col: x is an NHWC image
  // [B, h, w, cin], row r = (b, oy, ox) reads the k×k window at
  // (oy·s - p, ox·s - p) as k segments (window rows) of k·cin floats,
  // which are contiguous in the image away from its borders.
  struct Window {
    int64_t h, w, cin, k, s, p, ho, wo;
  };
  bool hasWindow = false;
  Window window{};
  // Independent GEMMs of `rows` rows each (plain x and y only): GEMM i
  // reads x + i·xBatchStride and panels + i·panelsBatchStride, and writes
  // y + i·yBatchStride (adds add + i·addBatchStride).
  int64_t batch = 1, xBatchStride = 0, yBatchStride = 0, addBatchStride = 0,
          panelsBatchStride = 0;
};

/// y = x · B + bias (then the residual or GELU that `io` asks for) for
/// `rows` rows of depth `in` and `out` columns, B packed by packPanels.
/// bias (out floats) may be null. Runs on libomp's threads.
void gemm(const GemmOperands &io, int64_t rows, int64_t in, int64_t out,
          const float *panels, const float *bias);

} // namespace clusopt::ukernel

#endif // CLUSOPT_RUNTIME_UKERNELS_UKERNELS_H

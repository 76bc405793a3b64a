// Machine ceilings for the CPU roofline: peak f32 FMA throughput and
// STREAM-style triad bandwidth, both on OMP_NUM_THREADS threads.
//
// Build: clang -O2 -fopenmp=libomp roofline.c -o roofline
//   No -march: the code for each ISA level is a function with its own
//   target attribute, picked at run time from what the CPU supports, so one
//   binary runs on any x86-64 CPU and reports the peak of the widest level
//   it has:
//     x86-64-v4 (AVX-512): 16-lane FMA
//     x86-64-v3 (AVX2):    8-lane FMA
//     x86-64 (SSE2):       4-lane multiply + add (no FMA instruction)
// Usage: roofline [--isa=x86-64-v4|x86-64-v3|x86-64] [--peak-only]
//   --isa forces a level (e.g. the AVX2 code on an AVX-512 machine); a
//   level this CPU lacks is an error. --peak-only skips the triad (768 MiB).
// Output: one line
//   "isa=<level> vector=<extension> lanes=<n> threads=<t> peak_gflops=<x>
//    triad_gbs=<y>"
// (best of the repeats, as STREAM reports, because a ceiling is what the
// machine can reach).
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FMA_ITERS 20000000L

static double now(void) { return omp_get_wtime(); }

// Each kernel runs `iters` steps of independent accumulator chains on one
// thread and returns their sum (to keep the work live). Enough chains to
// cover FMA latency (4 cycles) times the FMA ports (2) with room to spare,
// so the loop is throughput-bound, not latency-bound, yet few enough to
// stay in registers: 24 of AVX-512's 32, 12 of AVX2's/SSE2's 16. The
// multiplier just below 1 and the tiny addend keep the values finite and
// normal (denormals would slow the FMA units down). The empty asm that
// "uses" some accumulators keeps the compiler from collapsing the loop
// algebraically.

#define V4_CHAINS 24
__attribute__((target("arch=x86-64-v4"))) static float fma_v4(int seed,
                                                              long iters) {
  __m512 acc[V4_CHAINS];
  __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < V4_CHAINS; ++i)
    acc[i] = _mm512_set1_ps((float)(i + seed));
  for (long it = 0; it < iters; ++it) {
    for (int i = 0; i < V4_CHAINS; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]),
                     "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]));
  }
  __m512 s = acc[0];
  for (int i = 1; i < V4_CHAINS; ++i)
    s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

#define V3_CHAINS 12
__attribute__((target("arch=x86-64-v3"))) static float fma_v3(int seed,
                                                              long iters) {
  __m256 acc[V3_CHAINS];
  __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < V3_CHAINS; ++i)
    acc[i] = _mm256_set1_ps((float)(i + seed));
  for (long it = 0; it < iters; ++it) {
    for (int i = 0; i < V3_CHAINS; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]),
                     "+x"(acc[3]), "+x"(acc[4]), "+x"(acc[5]));
  }
  __m256 s = acc[0];
  for (int i = 1; i < V3_CHAINS; ++i)
    s = _mm256_add_ps(s, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  float sum = 0.0f;
  for (int i = 0; i < 8; ++i)
    sum += lanes[i];
  return sum;
}

// Baseline x86-64 has no FMA: a multiply and an add per step, counted as
// the 2 flops an FMA would be.
#define V1_CHAINS 12
static float fma_v1(int seed, long iters) {
  __m128 acc[V1_CHAINS];
  __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
  for (int i = 0; i < V1_CHAINS; ++i)
    acc[i] = _mm_set1_ps((float)(i + seed));
  for (long it = 0; it < iters; ++it) {
    for (int i = 0; i < V1_CHAINS; ++i)
      acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], a), b);
    __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]),
                     "+x"(acc[3]), "+x"(acc[4]), "+x"(acc[5]));
  }
  __m128 s = acc[0];
  for (int i = 1; i < V1_CHAINS; ++i)
    s = _mm_add_ps(s, acc[i]);
  float lanes[4];
  _mm_storeu_ps(lanes, s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

// The triad at each level: the same loop, vectorised by the compiler for
// the level's registers.
#define TRIAD_BODY                                                             \
  for (long i = lo; i < hi; ++i)                                               \
    a[i] = b[i] + s * c[i];
__attribute__((target("arch=x86-64-v4"))) static void
triad_v4(float *a, const float *b, const float *c, float s, long lo, long hi) {
  TRIAD_BODY
}
__attribute__((target("arch=x86-64-v3"))) static void
triad_v3(float *a, const float *b, const float *c, float s, long lo, long hi) {
  TRIAD_BODY
}
static void triad_v1(float *a, const float *b, const float *c, float s,
                     long lo, long hi) {
  TRIAD_BODY
}

typedef struct {
  const char *level;  // the x86-64 level (clusopt's --target name)
  const char *vector; // its vector extension
  int lanes;          // f32 lanes per instruction
  int chains;
  float (*fma)(int seed, long iters);
  void (*triad)(float *a, const float *b, const float *c, float s, long lo,
                long hi);
} Isa;

static const Isa ISAS[] = {
    {"x86-64-v4", "AVX-512", 16, V4_CHAINS, fma_v4, triad_v4},
    {"x86-64-v3", "AVX2", 8, V3_CHAINS, fma_v3, triad_v3},
    {"x86-64", "SSE2", 4, V1_CHAINS, fma_v1, triad_v1},
};

// Whether this CPU (and OS: __builtin_cpu_supports checks that the
// registers are enabled) runs code of `isa`; the feature sets are the
// levels' vector parts, as clusopt.toolchain checks them.
static int supported(const Isa *isa) {
  __builtin_cpu_init();
  if (isa->lanes == 16)
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
  if (isa->lanes == 8)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c");
  return 1;
}

static double peak_gflops(const Isa *isa) {
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    float sink = 0.0f;
    double t0 = now();
#pragma omp parallel reduction(+ : sink)
    sink += isa->fma(omp_get_thread_num(), FMA_ITERS);
    double t = now() - t0;
    if (sink == 12345.0f)
      printf("#"); // keep `sink` live
    double flops = 2.0 * isa->lanes * isa->chains * (double)FMA_ITERS *
                   omp_get_max_threads();
    if (flops / t > best)
      best = flops / t;
  }
  return best / 1e9;
}

static double triad_gbs(const Isa *isa) {
  // 3 x 64 Mi floats = 768 MiB, far beyond the caches (L3 here ~100 MiB).
  const long n = 64L << 20;
  float *a = aligned_alloc(64, n * sizeof(float));
  float *b = aligned_alloc(64, n * sizeof(float));
  float *c = aligned_alloc(64, n * sizeof(float));
  if (!a || !b || !c) {
    fprintf(stderr, "roofline: out of memory\n");
    exit(1);
  }
  // First touch from the threads that will use the pages (the same static
  // split as the timed loop).
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {
    a[i] = 0.0f;
    b[i] = 1.0f;
    c[i] = 2.0f;
  }
  double best = 0.0;
  const float s = 3.0f;
  for (int rep = 0; rep < 10; ++rep) {
    double t0 = now();
#pragma omp parallel
    {
      long t = omp_get_thread_num(), nt = omp_get_num_threads();
      long chunk = (n + nt - 1) / nt;
      long lo = t * chunk, hi = lo + chunk < n ? lo + chunk : n;
      if (lo < hi)
        isa->triad(a, b, c, s, lo, hi);
    }
    double t = now() - t0;
    // STREAM convention: 2 reads + 1 write, no write-allocate traffic.
    double gbs = 3.0 * sizeof(float) * (double)n / t / 1e9;
    if (gbs > best)
      best = gbs;
  }
  if (a[n / 2] != 7.0f) {
    fprintf(stderr, "roofline: triad check failed\n");
    exit(1);
  }
  free(a);
  free(b);
  free(c);
  return best;
}

int main(int argc, char **argv) {
  const char *forced = NULL;
  int peak_only = 0;
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], "--isa=", 6) == 0)
      forced = argv[i] + 6;
    else if (strcmp(argv[i], "--peak-only") == 0)
      peak_only = 1;
    else {
      fprintf(stderr,
              "roofline: unknown argument '%s'\nusage: roofline "
              "[--isa=x86-64-v4|x86-64-v3|x86-64] [--peak-only]\n",
              argv[i]);
      return 2;
    }
  }
  const int count = sizeof(ISAS) / sizeof(ISAS[0]);
  const Isa *isa = NULL;
  for (int i = 0; i < count && !isa; ++i) {
    if (forced ? strcmp(forced, ISAS[i].level) == 0 : supported(&ISAS[i]))
      isa = &ISAS[i];
  }
  if (!isa) {
    fprintf(stderr,
            "roofline: unknown ISA level '%s'; expected x86-64-v4, "
            "x86-64-v3 or x86-64\n",
            forced);
    return 2;
  }
  if (!supported(isa)) {
    fprintf(stderr, "roofline: this CPU cannot run %s (%s) code\n",
            isa->level, isa->vector);
    return 2;
  }
  double peak = peak_gflops(isa);
  printf("isa=%s vector=%s lanes=%d threads=%d peak_gflops=%.2f", isa->level,
         isa->vector, isa->lanes, omp_get_max_threads(), peak);
  if (!peak_only)
    printf(" triad_gbs=%.2f", triad_gbs(isa));
  printf("\n");
  return 0;
}

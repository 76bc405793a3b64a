// Machine ceilings for the CPU roofline: peak f32 FMA throughput and
// STREAM-style triad bandwidth, both on OMP_NUM_THREADS threads.
//
// Build: clang -O2 -march=native -fopenmp=libomp roofline.c -o roofline
// Output: one line "peak_gflops=<x> triad_gbs=<y>" (best of the repeats,
// as STREAM reports, because a ceiling is what the machine can reach).
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

// 24 independent accumulator chains per thread: enough to cover FMA
// latency (4 cycles) times the FMA ports (2) with room to spare, so the
// loop is throughput-bound, not latency-bound.
#define CHAINS 24
#define FMA_ITERS 20000000L

static double now(void) { return omp_get_wtime(); }

static double peak_gflops(void) {
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    float sink = 0.0f;
    double t0 = now();
#pragma omp parallel reduction(+ : sink)
    {
      __m512 acc[CHAINS];
      // Multiplier just below 1 and a tiny addend keep the values finite
      // and normal (denormals would slow the FMA units down).
      __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
      for (int i = 0; i < CHAINS; ++i)
        acc[i] = _mm512_set1_ps((float)(i + omp_get_thread_num()));
      for (long it = 0; it < FMA_ITERS; ++it) {
        for (int i = 0; i < CHAINS; ++i)
          acc[i] = _mm512_fmadd_ps(acc[i], a, b);
        // An empty asm that "uses" the accumulators keeps the compiler from
        // collapsing the loop algebraically.
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]),
                         "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]));
      }
      __m512 s = acc[0];
      for (int i = 1; i < CHAINS; ++i) s = _mm512_add_ps(s, acc[i]);
      sink += _mm512_reduce_add_ps(s);
    }
    double t = now() - t0;
    if (sink == 12345.0f) printf("#");  // keep `sink` live
    double flops = 2.0 * 16 * CHAINS * (double)FMA_ITERS * omp_get_max_threads();
    if (flops / t > best) best = flops / t;
  }
  return best / 1e9;
}

static double triad_gbs(void) {
  // 3 x 64 Mi floats = 768 MiB, far beyond the caches (L3 here ~100 MiB).
  const long n = 64L << 20;
  float *a = aligned_alloc(64, n * sizeof(float));
  float *b = aligned_alloc(64, n * sizeof(float));
  float *c = aligned_alloc(64, n * sizeof(float));
  if (!a || !b || !c) { fprintf(stderr, "out of memory\n"); exit(1); }
  // First touch from the threads that will use the pages.
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) { a[i] = 0.0f; b[i] = 1.0f; c[i] = 2.0f; }
  double best = 0.0;
  const float s = 3.0f;
  for (int rep = 0; rep < 10; ++rep) {
    double t0 = now();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
    double t = now() - t0;
    // STREAM convention: 2 reads + 1 write, no write-allocate traffic.
    double gbs = 3.0 * sizeof(float) * (double)n / t / 1e9;
    if (gbs > best) best = gbs;
  }
  if (a[n / 2] != 7.0f) { fprintf(stderr, "triad check failed\n"); exit(1); }
  free(a); free(b); free(c);
  return best;
}

int main(void) {
  double peak = peak_gflops();
  double bw = triad_gbs();
  printf("threads=%d peak_gflops=%.2f triad_gbs=%.2f\n", omp_get_max_threads(),
         peak, bw);
  return 0;
}

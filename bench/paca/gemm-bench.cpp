//===- gemm-bench.cpp - The runtime's Linear against OpenBLAS sgemm -------===//
//
// Times runtime::Linear (packed panels, target_clones micro-kernel) and, when
// built with -DCLUSOPT_WITH_OPENBLAS, OpenBLAS's cblas_sgemm on PaCa-ViT
// tiny's GEMM shapes at 224x224, and prints GFLOP/s. Not part of CI; see
// bench/paca/README.md for the build line and the figures.
//
//===----------------------------------------------------------------------===//

#include "runtime/Layers.h"
#include "runtime/ThreadPool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#ifdef CLUSOPT_WITH_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

using namespace clusopt::runtime;

template <typename F> static double medianSeconds(F &&f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < 15; ++i) {
    auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

static Tensor randomTensor(std::initializer_list<int64_t> shape) {
  Tensor t = cantFail(Tensor::empty(DType::F32, shape));
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data<float>()[i] = normal(rng);
  return t;
}

// The micro-kernel runtime::Linear picks on this CPU (runtime/Layers.cpp):
// AVX-512 unless CLUSOPT_GEMM_NO_AVX512 is set, else AVX2 + FMA, else the
// x86-64 baseline.
static const char *linearIsa() {
  if (!std::getenv("CLUSOPT_GEMM_NO_AVX512") &&
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "x86-64-v4 (AVX-512)";
  if (__builtin_cpu_supports("x86-64-v3"))
    return "x86-64-v3 (AVX2)";
  return "x86-64 (SSE2)";
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  ThreadPool::setNumThreads(threads);
#ifdef CLUSOPT_WITH_OPENBLAS
  openblas_set_num_threads(threads);
#endif
  struct Shape {
    const char *what;
    int64_t m, k, n;
  };
  const Shape shapes[] = {
      {"stage1 q/k/v/proj", 3136, 96, 96},
      {"stage1 fc1", 3136, 96, 384},
      {"stage1 fc2", 3136, 384, 96},
      {"transition1 (im2col)", 784, 864, 192},
      {"stage3 fc1", 196, 320, 1280},
      {"stage3 fc2", 196, 1280, 320},
      {"stage4 fc2", 49, 1536, 384},
  };
  std::printf("ISA of Linear's micro-kernel: %s\n", linearIsa());
  std::printf("%d threads\n%-22s %6s %6s %6s %10s %10s\n", threads, "gemm", "M",
              "K", "N", "Linear", "OpenBLAS");
  for (const Shape &s : shapes) {
    Tensor x = randomTensor({s.m, s.k}), w = randomTensor({s.n, s.k}),
           b = randomTensor({s.n});
    Linear linear = cantFail(Linear::create(w, b));
    Tensor y = cantFail(Tensor::empty(DType::F32, {s.m, s.n}));
    double flops = 2.0 * s.m * s.k * s.n;
    double ours = medianSeconds(
        [&] { linear.apply(x.data<float>(), s.m, y.data<float>()); });
    double blas = 0;
#ifdef CLUSOPT_WITH_OPENBLAS
    blas = medianSeconds([&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.m, s.n, s.k, 1.0f,
                  x.data<float>(), s.k, w.data<float>(), s.k, 0.0f,
                  y.data<float>(), s.n);
    });
#endif
    std::printf("%-22s %6lld %6lld %6lld %10.1f %10.1f\n", s.what,
                (long long)s.m, (long long)s.k, (long long)s.n,
                flops / ours * 1e-9, blas ? flops / blas * 1e-9 : 0.0);
  }
  return 0;
}

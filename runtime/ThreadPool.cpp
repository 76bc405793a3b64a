//===- ThreadPool.cpp - The runtime's threads: libomp's pool --------------===//

#include "runtime/ThreadPool.h"

#include <omp.h>

#include <algorithm>

using namespace clusopt::runtime;

void ThreadPool::setNumThreads(int threads) {
  omp_set_num_threads(threads < 1 ? 1 : threads);
}

int ThreadPool::numThreads() { return omp_get_max_threads(); }

int ThreadPool::threadIndex() { return omp_get_thread_num(); }

void ThreadPool::parallelFor(int64_t begin, int64_t end,
                             llvm::function_ref<void(int64_t)> body) {
  if (end - begin == 1) {
    body(begin);
    return;
  }
  // Dynamic chunks of about 1/8 of a thread's share: tasks differ in cost
  // (a GEMM's last, partial row block) and so do the cores of a shared VM,
  // and a static split left one thread waiting at the barrier.
  int64_t chunk =
      std::max<int64_t>(1, (end - begin) / (8 * omp_get_max_threads()));
#pragma omp parallel for schedule(dynamic, chunk)
  for (int64_t i = begin; i < end; ++i)
    body(i);
}

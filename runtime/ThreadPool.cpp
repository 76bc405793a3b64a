//===- ThreadPool.cpp - The runtime's threads: libomp's pool --------------===//

#include "runtime/ThreadPool.h"

#include <omp.h>

#include <algorithm>
#include <atomic>

using namespace clusopt::runtime;

void ThreadPool::setNumThreads(int threads) {
  omp_set_num_threads(threads < 1 ? 1 : threads);
}

int ThreadPool::numThreads() { return omp_get_max_threads(); }

int ThreadPool::threadIndex() { return omp_get_thread_num(); }

void ThreadPool::parallelFor(int64_t begin, int64_t end,
                             llvm::function_ref<void(int64_t)> body) {
  int threads = omp_get_max_threads();
  if (end - begin == 1 || threads == 1) {
    for (int64_t i = begin; i < end; ++i)
      body(i);
    return;
  }
  // Dynamic chunks of at most 1/4 of a thread's share, shrinking (guided)
  // to single tasks at the end: tasks differ in cost (a GEMM's last,
  // partial row block) and so do the cores of a shared VM, and a static
  // split left one thread waiting at the barrier. Larger chunks keep
  // locality (neighbouring tasks share weight panels, rows of x, image
  // rows): fixed chunks of 1/8 were 4-9% slower on PaCa-tiny than 1/4,
  // while the shrinking tail halved the time the second thread waited
  // on the first at a GEMM's end (5% of its samples to 2%). Chunks come
  // from one atomic counter rather than schedule(dynamic): libomp's
  // dispatcher formats strings on every loop start and chunk (it showed up
  // as 2% of a model's time in vsnprintf).
  int64_t most = std::max<int64_t>(1, (end - begin) / (4 * threads));
  std::atomic<int64_t> next{begin};
#pragma omp parallel
  {
    int64_t first = next.load(std::memory_order_relaxed);
    for (;;) {
      if (first >= end)
        break;
      int64_t chunk =
          std::clamp<int64_t>((end - first) / (2 * threads), 1, most);
      if (!next.compare_exchange_weak(first, first + chunk,
                                      std::memory_order_relaxed))
        continue;
      for (int64_t i = first, last = std::min(end, first + chunk); i < last;
           ++i)
        body(i);
      first = next.load(std::memory_order_relaxed);
    }
  }
}

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
  // Dynamic chunks of about 1/4 of a thread's share: tasks differ in cost
  // (a GEMM's last, partial row block) and so do the cores of a shared VM,
  // and a static split left one thread waiting at the barrier. Smaller
  // chunks cost locality (neighbouring tasks share weight panels, rows of
  // x, image rows): 1/8 was 4-9% slower on PaCa-tiny in interleaved runs,
  // and 1/32 no faster than 1/8. Chunks come from one atomic counter rather
  // than schedule(dynamic): libomp's dispatcher formats strings on every
  // loop start and chunk (it showed up as 2% of a model's time in
  // vsnprintf).
  int64_t chunk = std::max<int64_t>(1, (end - begin) / (4 * threads));
  std::atomic<int64_t> next{begin};
#pragma omp parallel
  {
    for (;;) {
      int64_t first = next.fetch_add(chunk, std::memory_order_relaxed);
      if (first >= end)
        break;
      for (int64_t i = first, last = std::min(end, first + chunk); i < last;
           ++i)
        body(i);
    }
  }
}

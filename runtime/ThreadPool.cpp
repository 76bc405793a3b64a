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

//===- ThreadPool.h - The runtime's threads: libomp's pool ------*- C++ -*-===//
//
// Generated kernels parallelise with OpenMP (libomp from LLVM 22). The
// runtime's own loops use the same libomp pool, so there is one set of
// worker threads and setting the count here also sets it for the kernels.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_THREADPOOL_H
#define CLUSOPT_RUNTIME_THREADPOOL_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>

namespace clusopt::runtime {

class ThreadPool {
public:
  /// Threads used by later parallel regions, the kernels' included
  /// (omp_set_num_threads). Values below 1 are taken as 1.
  static void setNumThreads(int threads);
  /// The thread count the next parallel region will use.
  static int numThreads();
  /// The index of the calling thread inside a parallel region (0 outside).
  static int threadIndex();

  /// Calls `body(i)` for every i in [begin, end), in dynamic chunks across
  /// the pool: thread t takes the t-th contiguous share of the range first,
  /// then chunks of the others' shares that are left (ukernel::parallelFor).
  /// `body` must not throw and must be safe to run concurrently; inside a
  /// parallel region it runs on the calling thread alone.
  static void parallelFor(int64_t begin, int64_t end,
                          llvm::function_ref<void(int64_t)> body);
};

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_THREADPOOL_H

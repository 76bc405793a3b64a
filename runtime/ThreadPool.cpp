//===- ThreadPool.cpp - The runtime's threads: libomp's pool --------------===//

#include "runtime/ThreadPool.h"
#include "runtime/ukernels/UKernels.h"

#include <omp.h>

using namespace clusopt::runtime;

void ThreadPool::setNumThreads(int threads) {
  omp_set_num_threads(threads < 1 ? 1 : threads);
}

int ThreadPool::numThreads() { return omp_get_max_threads(); }

int ThreadPool::threadIndex() { return omp_get_thread_num(); }

// The loop itself is the micro-kernel library's, which its GEMM uses too.
void ThreadPool::parallelFor(int64_t begin, int64_t end,
                             llvm::function_ref<void(int64_t)> body) {
  ukernel::parallelFor(begin, end, body);
}

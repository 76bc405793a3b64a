//===- tensor-test.cpp - Tensors, dtype conversions and threads -----------===//
//
// Checks the f16/bf16 conversions against the compiler's own (_Float16 and
// __bf16, which round to nearest even), views, and the libomp thread pool.
//
//===----------------------------------------------------------------------===//

#include "Check.h"
#include "runtime/Tensor.h"
#include "runtime/ThreadPool.h"

#include "llvm/ADT/bit.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace clusopt::runtime;

static bool sameFloat(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) ||
         llvm::bit_cast<uint32_t>(a) == llvm::bit_cast<uint32_t>(b);
}

static void checkConversions() {
  // Every f16 and bf16 value widens exactly and narrows back to itself.
  for (uint32_t h = 0; h < 65536; ++h) {
    uint16_t bits = h;
    float wide = halfToFloat(bits);
    CHECK(sameFloat(wide, static_cast<float>(llvm::bit_cast<_Float16>(bits))));
    CHECK(std::isnan(wide) ? std::isnan(halfToFloat(floatToHalf(wide)))
                           : floatToHalf(wide) == bits);
    float bwide = bf16ToFloat(bits);
    CHECK(sameFloat(bwide, static_cast<float>(llvm::bit_cast<__bf16>(bits))));
    CHECK(std::isnan(bwide) ? std::isnan(bf16ToFloat(floatToBf16(bwide)))
                            : floatToBf16(bwide) == bits);
  }
  // Narrowing matches the compiler on a stride through all f32 patterns
  // (every exponent, ties included) plus the boundaries.
  std::vector<uint32_t> samples = {0x477fefff, 0x477ff000, 0x33000000,
                                   0x33000001, 0x387fffff, 0x38800000,
                                   0x7f7fffff, 0x7f800000, 0x7fc00001};
  for (uint64_t x = 0; x < (1ull << 32); x += 65521)
    samples.push_back(static_cast<uint32_t>(x));
  for (uint32_t m = 0; m < 256; ++m) // halfway cases in f16 and bf16
    samples.push_back((m << 23) | 0x1000);
  for (uint32_t x : samples) {
    for (uint32_t v : {x, x | 0x80000000u}) {
      float f = llvm::bit_cast<float>(v);
      CHECK(sameFloat(halfToFloat(floatToHalf(f)),
                      static_cast<float>(static_cast<_Float16>(f))));
      CHECK(sameFloat(bf16ToFloat(floatToBf16(f)),
                      static_cast<float>(static_cast<__bf16>(f))));
    }
  }
  llvm::outs() << "conversions: " << samples.size() * 2 + 65536
               << " values match the compiler\n";
}

static void checkTensors() {
  Tensor t = checkOk(Tensor::empty(DType::F32, {4, 3}), "empty");
  CHECK(reinterpret_cast<uintptr_t>(t.raw()) % Tensor::kAlignment == 0);
  CHECK(t.numElements() == 12 && t.numBytes() == 48);
  for (int i = 0; i < 12; ++i)
    t.data<float>()[i] = i - 5.5f;

  Tensor rows = checkOk(t.slice(1, 3), "slice");
  CHECK(rows.shape() == llvm::ArrayRef<int64_t>({2, 3}));
  CHECK(rows.data<float>()[0] == t.data<float>()[3]);
  CHECK(rows.sharesStorageWith(t));
  Tensor flat = checkOk(t.reshape({12}), "reshape");
  flat.data<float>()[11] = 100;
  CHECK(t.data<float>()[11] == 100);
  Tensor copy = t.clone();
  CHECK(!copy.sharesStorageWith(t) && copy.data<float>()[11] == 100);

  Tensor half = checkOk(t.to(DType::F16), "to f16");
  Tensor bf = checkOk(t.to(DType::BF16), "to bf16");
  Tensor back = checkOk(half.to(DType::F32), "to f32");
  for (int i = 0; i < 12; ++i) {
    CHECK(back.data<float>()[i] == t.data<float>()[i]); // all exact in f16
    CHECK(bf.getFloat(i) == t.data<float>()[i]);
  }
  Tensor empty0 = checkOk(Tensor::zeros(DType::I32, {0, 7}), "zeros");
  CHECK(empty0.numElements() == 0 && empty0.raw() != nullptr);

  llvm::outs() << errorOf(t.reshape({5, 3}), "reshape 15") << "\n";
  llvm::outs() << errorOf(t.slice(2, 5), "slice") << "\n";
  llvm::outs() << errorOf(t.to(DType::I32), "to i32") << "\n";
  llvm::outs() << errorOf(Tensor::empty(DType::F32, {2, -1}), "negative")
               << "\n";
  llvm::outs() << errorOf(Tensor::empty(DType::F32, {1ll << 40, 1ll << 30}),
                          "overflow")
               << "\n";
  llvm::outs() << errorOf(Tensor::empty(DType::F16, {1ll << 61, 2}),
                          "byte overflow")
               << "\n";
}

static void checkThreads() {
  ThreadPool::setNumThreads(3);
  CHECK(ThreadPool::numThreads() == 3);
  std::vector<int64_t> out(1000, 0);
  std::mutex mu;
  std::set<int> threads;
  ThreadPool::parallelFor(0, 1000, [&](int64_t i) {
    out[i] = i * i;
    std::lock_guard<std::mutex> lock(mu);
    threads.insert(ThreadPool::threadIndex());
  });
  for (int64_t i = 0; i < 1000; ++i)
    CHECK(out[i] == i * i);
  CHECK(!threads.empty() && *threads.rbegin() < 3);
  std::atomic<int> calls{0};
  ThreadPool::parallelFor(5, 5, [&](int64_t) { ++calls; });
  CHECK(calls == 0);
  // Every index exactly once, whatever the thread count and range, with
  // the first thread's share slow (the others must take from it).
  for (int count : {2, 3}) {
    ThreadPool::setNumThreads(count);
    for (auto range :
         {std::pair<int64_t, int64_t>{0, 1}, {3, 5}, {0, 7}, {10, 1013}}) {
      int64_t begin = range.first, end = range.second;
      std::vector<std::atomic<int>> seen(end);
      ThreadPool::parallelFor(begin, end, [&](int64_t i) {
        if (i - begin < (end - begin) / count)
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        ++seen[i];
      });
      for (int64_t i = 0; i < end; ++i)
        CHECK(seen[i] == (i >= begin ? 1 : 0));
    }
  }
  ThreadPool::setNumThreads(0);
  CHECK(ThreadPool::numThreads() == 1);
  llvm::outs() << "threads: parallelFor used " << threads.size()
               << " of 3 threads\n";
}

int main() {
  checkConversions();
  checkTensors();
  checkThreads();
  llvm::outs() << "tensor-test: OK\n";
  return 0;
}

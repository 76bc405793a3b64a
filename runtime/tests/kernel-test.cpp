//===- kernel-test.cpp - Calling generated kernels through the runtime ----===//
//
// Loads the kernels of test/Runtime/kernel-library.mlir (compiled by
// clusopt-compile), calls each through KernelLibrary and compares with
// plain loops; then checks the errors for bad calls and a bad manifest.
// Usage: clusopt-runtime-kernel-test LIBRARY.so SCRATCH_DIR
//
//===----------------------------------------------------------------------===//

#include "Check.h"
#include "runtime/KernelLibrary.h"
#include "runtime/ThreadPool.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <fstream>
#include <link.h>
#include <random>

using namespace clusopt::runtime;

static std::mt19937 rng(7);

static Tensor randomTensor(DType dtype, llvm::ArrayRef<int64_t> shape) {
  Tensor f = checkOk(Tensor::empty(DType::F32, shape), "random");
  std::uniform_real_distribution<float> dist(-2, 2);
  for (int64_t i = 0; i < f.numElements(); ++i)
    f.data<float>()[i] = dist(rng);
  return checkOk(f.to(dtype), "convert");
}

/// Largest |a - b| over all elements.
static double maxError(const Tensor &a, const std::vector<double> &ref) {
  CHECK(a.numElements() == static_cast<int64_t>(ref.size()));
  double err = 0;
  for (int64_t i = 0; i < a.numElements(); ++i)
    err = std::max(err, std::fabs(a.getFloat(i) - ref[i]));
  return err;
}

/// softmax over tokens of logits [B, M, N], then Z . X with X [B, N, C].
static void poolReference(const Tensor &logits, const Tensor &x,
                          std::vector<double> &z, std::vector<double> &y) {
  int64_t b = logits.dim(0), m = logits.dim(1), n = logits.dim(2), c = x.dim(2);
  z.assign(b * m * n, 0);
  y.assign(b * m * c, 0);
  for (int64_t i = 0; i < b * m; ++i) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < n; ++j)
      mx = std::max(mx, (double)logits.getFloat(i * n + j));
    for (int64_t j = 0; j < n; ++j)
      sum += z[i * n + j] = std::exp(logits.getFloat(i * n + j) - mx);
    for (int64_t j = 0; j < n; ++j)
      z[i * n + j] /= sum;
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < c; ++k)
        y[i * c + k] += z[i * n + j] * x.getFloat(((i / m) * n + j) * c + k);
  }
}

/// softmax(Q K^T / sqrt(D)) V per (batch, head).
static std::vector<double> attentionReference(const Tensor &q, const Tensor &k,
                                              const Tensor &v) {
  int64_t bh = q.dim(0) * q.dim(1), n = q.dim(2), d = q.dim(3), m = k.dim(2),
          dv = v.dim(3);
  std::vector<double> out(bh * n * dv, 0), s(m);
  for (int64_t g = 0; g < bh; ++g)
    for (int64_t i = 0; i < n; ++i) {
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < m; ++j) {
        double dot = 0;
        for (int64_t t = 0; t < d; ++t)
          dot += (double)q.getFloat((g * n + i) * d + t) *
                 k.getFloat((g * m + j) * d + t);
        s[j] = dot / std::sqrt((double)d);
        mx = std::max(mx, s[j]);
      }
      for (int64_t j = 0; j < m; ++j)
        sum += s[j] = std::exp(s[j] - mx);
      for (int64_t j = 0; j < m; ++j)
        for (int64_t t = 0; t < dv; ++t)
          out[(g * n + i) * dv + t] +=
              s[j] / sum * v.getFloat((g * m + j) * dv + t);
    }
  return out;
}

static int countLibomp() {
  int count = 0;
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *data) {
        if (llvm::StringRef(info->dlpi_name).contains("libomp"))
          ++*static_cast<int *>(data);
        return 0;
      },
      &count);
  return count;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    llvm::errs() << "usage: clusopt-runtime-kernel-test LIBRARY.so DIR\n";
    return 2;
  }
  std::string libPath = argv[1], dir = argv[2];
  ThreadPool::setNumThreads(4);
  std::unique_ptr<KernelLibrary> lib =
      checkOk(KernelLibrary::open(libPath), "open");
  for (const EntryPoint &e : lib->entryPoints()) {
    llvm::outs() << "entry " << e.name << " (" << e.symbol << "):";
    for (const TensorSpec &s : e.arguments)
      llvm::outs() << " " << s.str();
    llvm::outs() << " ->";
    for (const TensorSpec &s : e.results)
      llvm::outs() << " " << s.str();
    llvm::outs() << "\n";
  }
  // The kernels' libomp is the runtime's: one pool.
  llvm::outs() << "libomp copies loaded: " << countLibomp() << "\n";

  // PaCa's soft_assign + pool, one result and then two.
  Tensor logits = randomTensor(DType::F32, {2, 5, 37});
  Tensor x = randomTensor(DType::F32, {2, 37, 19});
  std::vector<double> zRef, yRef;
  poolReference(logits, x, zRef, yRef);
  std::vector<Tensor> out = checkOk(lib->call("paca", {logits, x}), "paca");
  CHECK(out.size() == 1 &&
        out[0].shape() == llvm::ArrayRef<int64_t>({2, 5, 19}));
  double err = maxError(out[0], yRef);
  CHECK(err < 1e-4);
  out = checkOk(lib->call("assign_and_pool", {logits, x}), "assign_and_pool");
  CHECK(out.size() == 2);
  CHECK(maxError(out[0], zRef) < 1e-5 && maxError(out[1], yRef) < 1e-4);
  llvm::outs() << "paca: results match the reference loops\n";

  // bf16 attention with static batch, heads and channels.
  Tensor q = randomTensor(DType::BF16, {1, 2, 23, 8});
  Tensor k = randomTensor(DType::BF16, {1, 2, 11, 8});
  Tensor v = randomTensor(DType::BF16, {1, 2, 11, 8});
  out = checkOk(lib->call("attention", {q, k, v}), "attention");
  CHECK(out[0].dtype() == DType::BF16);
  CHECK(maxError(out[0], attentionReference(q, k, v)) < 2e-2);
  llvm::outs() << "attention: bf16 results match the reference loops\n";

  // Ranks 1 and 5 through the same descriptor code.
  Tensor r5 = randomTensor(DType::F32, {2, 1, 3, 4, 5});
  out = checkOk(lib->call("twice5", {r5}), "twice5");
  CHECK(out[0].shape() == r5.shape());
  for (int64_t i = 0; i < r5.numElements(); ++i)
    CHECK(out[0].data<float>()[i] == 2 * r5.data<float>()[i]);
  Tensor r1 = checkOk(Tensor::empty(DType::I32, {9}), "r1");
  for (int i = 0; i < 9; ++i)
    r1.data<int32_t>()[i] = i - 4;
  out = checkOk(lib->call("twice1", {r1}), "twice1");
  for (int i = 0; i < 9; ++i)
    CHECK(out[0].data<int32_t>()[i] == 2 * (i - 4));
  llvm::outs() << "twice: ranks 1 and 5 match\n";

  // Bad calls are refused before the kernel runs.
  auto show = [&](const char *label, llvm::StringRef name,
                  llvm::ArrayRef<Tensor> args) {
    llvm::outs() << label << ": " << errorOf(lib->call(name, args), label)
                 << "\n";
  };
  show("wrong-count", "paca", {logits});
  show("wrong-rank", "paca", {logits, r5});
  show("wrong-dtype", "attention", {q, k.clone(), logits});
  show("wrong-static-dim", "attention",
       {randomTensor(DType::BF16, {1, 3, 23, 8}), k, v});
  show("unknown-entry", "flash", {});

  // A manifest naming a symbol the library lacks.
  auto text = checkOk(llvm::errorOrToExpected(llvm::MemoryBuffer::getFile(
                          libPath.substr(0, libPath.size() - 3) + ".json")),
                      "manifest");
  std::string manifest = text->getBuffer().str();
  size_t at = manifest.find("_mlir_ciface_twice1");
  CHECK(at != std::string::npos);
  manifest.replace(at, 19, "_mlir_ciface_thrice");
  std::string badManifest = dir + "/bad-symbol.json";
  std::ofstream(badManifest) << manifest;
  std::string message =
      errorOf(KernelLibrary::open(libPath, badManifest), "missing symbol");
  llvm::outs() << "missing-symbol: "
               << message.substr(message.find("entry point")) << "\n";
  std::ofstream(dir + "/not-json.json") << "{\"format\": ";
  message = errorOf(KernelLibrary::open(libPath, dir + "/not-json.json"),
                    "bad manifest");
  llvm::outs() << "bad-manifest: " << message.substr(message.find("not valid"))
               << "\n";
  llvm::outs() << "kernel-test: OK\n";
  return 0;
}

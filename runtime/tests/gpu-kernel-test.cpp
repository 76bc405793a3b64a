//===- gpu-kernel-test.cpp - GPU kernel libraries through KernelLibrary ---===//
//
// Opens a kernel library whose manifest targets a GPU (test/Runtime/
// kernel-library-gpu.test builds one with upstream MLIR's GPU pipeline: a
// `twice` entry point, y = 2x, whose host code calls the mgpu* ABI).
//
//   clusopt-runtime-gpu-kernel-test LIB.so no-gpu
//       the open fails, first without the GPU runtime, then with it but
//       without a usable GPU; prints both errors.
//   clusopt-runtime-gpu-kernel-test LIB.so load-fails
//       the GPU is there but the library's module does not load: the open
//       fails with the error its global constructor recorded.
//   clusopt-runtime-gpu-kernel-test LIB.so device
//       calls `twice` through KernelLibrary and compares.
//
//===----------------------------------------------------------------------===//

#include "Check.h"
#include "runtime/KernelLibrary.h"

#include <cstdlib>

using namespace clusopt::runtime;

static int noGpu(const std::string &path) {
  // No runtime where $CLUSOPT_GPU_RUNTIME says: the open names it.
  setenv("CLUSOPT_GPU_RUNTIME", "/nonexistent/libclusopt_gpu_runtime.so", 1);
  llvm::outs() << "no-runtime: "
               << errorOf(KernelLibrary::open(path), "open without runtime")
               << "\n";
  // Found beside the executable (build/lib), but no GPU to load onto.
  unsetenv("CLUSOPT_GPU_RUNTIME");
  llvm::outs() << "no-gpu: "
               << errorOf(KernelLibrary::open(path), "open without a GPU")
               << "\n";
  llvm::outs() << "gpu-kernel-test: OK\n";
  return 0;
}

static int device(const std::string &path) {
  std::unique_ptr<KernelLibrary> lib =
      checkOk(KernelLibrary::open(path), "open");
  CHECK(lib->onGpu() && lib->target().starts_with("sm_"));
  for (int64_t n : {1000, 1, 4097}) {
    Tensor x = checkOk(Tensor::empty(DType::F32, {n}), "x");
    for (int64_t i = 0; i < n; ++i)
      x.data<float>()[i] = 0.5f * i - 3.0f;
    std::vector<Tensor> y = checkOk(lib->call("twice", {x}), "call");
    CHECK(y.size() == 1 && y[0].dtype() == DType::F32 && y[0].rank() == 1 &&
          y[0].dim(0) == n);
    for (int64_t i = 0; i < n; ++i)
      CHECK(y[0].data<float>()[i] == 2 * x.data<float>()[i]);
  }
  llvm::outs() << "twice: results match on the GPU\n";
  // Checks against the manifest still come first.
  Tensor wrong = checkOk(Tensor::empty(DType::I32, {4}), "wrong");
  llvm::outs() << "wrong-dtype: "
               << errorOf(lib->call("twice", {wrong}), "wrong dtype") << "\n";
  // A launch the driver rejects (an empty grid) comes back as an error.
  Tensor empty = checkOk(Tensor::empty(DType::F32, {0}), "empty");
  llvm::outs() << "empty-grid: "
               << errorOf(lib->call("twice", {empty}), "empty grid") << "\n";
  llvm::outs() << "gpu-kernel-test: OK\n";
  return 0;
}

static int loadFails(const std::string &path) {
  llvm::outs() << "load-fails: "
               << errorOf(KernelLibrary::open(path), "open, module load fails")
               << "\n";
  llvm::outs() << "gpu-kernel-test: OK\n";
  return 0;
}

int main(int argc, char **argv) {
  std::string mode = argc == 3 ? argv[2] : "";
  if (mode == "no-gpu")
    return noGpu(argv[1]);
  if (mode == "load-fails")
    return loadFails(argv[1]);
  if (mode == "device")
    return device(argv[1]);
  llvm::errs() << "usage: clusopt-runtime-gpu-kernel-test LIB.so "
                  "no-gpu|load-fails|device\n";
  return 2;
}

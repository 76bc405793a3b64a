//===- KernelLibrary.h - Loading and calling generated kernels --*- C++ -*-===//
//
// A kernel library is what `clusopt-compile --emit=so` writes: a shared
// library and a JSON manifest beside it. The manifest lists each entry point's
// symbol and its argument and result shapes and dtypes; calls are checked
// against it before any pointer reaches the kernel.
//
// A library whose manifest target is a GPU ("sm_80", "sm_90") calls MLIR's
// mgpu* runtime functions, which libclusopt_gpu_runtime.so provides: it is
// loaded first (RTLD_GLOBAL), and calls copy tensors to and from the device.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_KERNELLIBRARY_H
#define CLUSOPT_RUNTIME_KERNELLIBRARY_H

#include "runtime/Tensor.h"

#include <memory>
#include <string>
#include <vector>

namespace clusopt::runtime {

/// A tensor type from the manifest; a dim of -1 is dynamic.
struct TensorSpec {
  static constexpr int64_t kDynamic = -1;
  DType dtype = DType::F32;
  llvm::SmallVector<int64_t, 4> shape;

  /// "tensor<?x4xf32>".
  std::string str() const;
};

struct EntryPoint {
  std::string name, symbol;
  std::vector<TensorSpec> arguments, results;
  void *function = nullptr;
};

class KernelLibrary {
public:
  /// Entry points may take and return this many tensors at most.
  static constexpr size_t kMaxTensors = 16;
  /// Tensors may have this rank at most.
  static constexpr int64_t kMaxRank = 8;

  /// Loads `libraryPath` and its manifest (by default the same path with a
  /// .json extension) and resolves every entry point's symbol.
  static llvm::Expected<std::unique_ptr<KernelLibrary>>
  open(llvm::StringRef libraryPath, llvm::StringRef manifestPath = "");
  ~KernelLibrary();
  KernelLibrary(const KernelLibrary &) = delete;
  KernelLibrary &operator=(const KernelLibrary &) = delete;

  llvm::StringRef path() const { return path_; }
  /// The manifest's target name ("x86-64-v3", "sm_90", ...).
  llvm::StringRef target() const { return target_; }
  /// Whether the kernels run on a GPU (the target is "sm_*").
  bool onGpu() const { return gpu_ != nullptr; }
  llvm::ArrayRef<EntryPoint> entryPoints() const { return entries_; }
  const EntryPoint *find(llvm::StringRef name) const;

  /// Checks `args` against entry point `name` (count, dtypes, ranks and
  /// static dims; the manifest does not record how dynamic dims relate, so
  /// those are the caller's to get right), calls it, and returns its
  /// results as fresh tensors. Arguments are passed in place; kernels
  /// never write them (clusopt-compile marks entry-point arguments
  /// non-writable for one-shot bufferization). On a GPU, arguments are
  /// copied to device buffers for the call, results are copied back (and
  /// the kernel's device allocations freed), and any error the GPU runtime
  /// recorded during the call is returned.
  llvm::Expected<std::vector<Tensor>> call(llvm::StringRef name,
                                           llvm::ArrayRef<Tensor> args) const;

  /// The GPU runtime's C interface, resolved from the loaded
  /// libclusopt_gpu_runtime.so.
  struct GpuRuntime;
  /// Loads libclusopt_gpu_runtime.so (RTLD_NOW | RTLD_GLOBAL) once per
  /// process: $CLUSOPT_GPU_RUNTIME if set, else the first of
  /// <executable>/../lib/, the directory of `besideLibrary`, and the
  /// dynamic linker's search path.
  static llvm::Expected<const GpuRuntime *>
  loadGpuRuntime(llvm::StringRef besideLibrary = "");

private:
  KernelLibrary() = default;

  std::string path_, target_;
  void *handle_ = nullptr;
  std::vector<EntryPoint> entries_;
  const GpuRuntime *gpu_ = nullptr;
};

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_KERNELLIBRARY_H

//===- KernelLibrary.h - Loading and calling generated kernels --*- C++ -*-===//
//
// A kernel library is what `clusopt-compile --emit=so` writes: a shared
// library and a JSON manifest beside it. The manifest lists each entry point's
// symbol and its argument and result shapes and dtypes; calls are checked
// against it before any pointer reaches the kernel.
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
  /// The manifest's target name ("x86-64-v3", ...).
  llvm::StringRef target() const { return target_; }
  llvm::ArrayRef<EntryPoint> entryPoints() const { return entries_; }
  const EntryPoint *find(llvm::StringRef name) const;

  /// Checks `args` against entry point `name` (count, dtypes, ranks and
  /// static dims; the manifest does not record how dynamic dims relate, so
  /// those are the caller's to get right), calls it, and returns its
  /// results as fresh tensors. Arguments are passed in place; kernels
  /// never write them (clusopt-compile marks entry-point arguments
  /// non-writable for one-shot bufferization).
  llvm::Expected<std::vector<Tensor>> call(llvm::StringRef name,
                                           llvm::ArrayRef<Tensor> args) const;

private:
  KernelLibrary() = default;

  std::string path_, target_;
  void *handle_ = nullptr;
  std::vector<EntryPoint> entries_;
};

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_KERNELLIBRARY_H

//===- Safetensors.h - Hardened safetensors reader and writer ---*- C++ -*-===//
//
// Model weights come as safetensors files: an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range, then
// the data. Files may come from anywhere, so the reader checks every field
// before any byte of data is touched, and every error names the tensor and
// the problem.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_SAFETENSORS_H
#define CLUSOPT_RUNTIME_SAFETENSORS_H

#include "runtime/Tensor.h"

#include "llvm/Support/MemoryBuffer.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace clusopt::runtime {

/// One tensor of a safetensors file, as its header describes it.
struct SafetensorsEntry {
  std::string name;
  /// The safetensors spelling: "F32", "BF16", "I64", ...
  std::string dtype;
  size_t elementSize = 0;
  llvm::SmallVector<int64_t, 4> shape;
  /// Byte range [begin, end) inside the data section.
  uint64_t begin = 0, end = 0;
};

class SafetensorsFile {
public:
  /// The largest header accepted (the reference implementation's limit).
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;
  /// The most JSON objects a header may hold (one per tensor, the root and
  /// `__metadata__`), which bounds the parser's memory to about 400 MB.
  static constexpr size_t kMaxHeaderObjects = 100'000;

  /// Maps (or reads) and validates a file, which must be a regular file of
  /// at most 64 GiB (clusopt::kWeightsInput). Errors start with the path.
  static llvm::Expected<SafetensorsFile> open(llvm::StringRef path);
  /// Validates a file already in memory; errors start with the buffer's
  /// identifier.
  static llvm::Expected<SafetensorsFile>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer);

  /// Every tensor, sorted by name.
  llvm::ArrayRef<SafetensorsEntry> tensors() const { return entries_; }
  /// The tensor called `name`, or null.
  const SafetensorsEntry *find(llvm::StringRef name) const;
  /// The `__metadata__` map (empty when absent).
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }
  /// The raw little-endian bytes of a tensor (not aligned).
  llvm::ArrayRef<uint8_t> bytes(const SafetensorsEntry &entry) const;

  /// "tensor 'NAME': not found in the weights file", with a hint when the
  /// file has the name with a `module.` prefix (a DDP-wrapped model's).
  llvm::Error notFoundError(llvm::StringRef name) const;
  /// Checks that tensor `name` exists with `dtype` and `shape`, as a model
  /// config expects, e.g. "tensor 'blocks.0.attn.q.weight': expected shape
  /// [96, 96], got [96, 95]".
  llvm::Error expect(llvm::StringRef name, DType dtype,
                     llvm::ArrayRef<int64_t> shape) const;
  /// Copies tensor `name` into an aligned Tensor (F32, F16, BF16 or I32).
  llvm::Expected<Tensor> load(llvm::StringRef name) const;
  /// expect() and then load(). With `requireFinite`, an F32 tensor holding
  /// a NaN or an infinity is an error naming the tensor, the count and the
  /// first (checked while copying, so it costs next to nothing).
  llvm::Expected<Tensor> load(llvm::StringRef name, DType dtype,
                              llvm::ArrayRef<int64_t> shape,
                              bool requireFinite = false) const;

private:
  SafetensorsFile() = default;

  std::unique_ptr<llvm::MemoryBuffer> buffer_;
  const uint8_t *data_ = nullptr; // start of the data section
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

/// "2 of 147456 values are not finite (the first, at flat index 580, is
/// NaN)" for `n` floats holding NaNs or infinities; empty when all are
/// finite.
std::string nonFiniteSummary(const float *values, int64_t n);

/// The safetensors spelling of a runtime dtype ("F32", "F16", ...).
llvm::StringRef safetensorsDTypeName(DType dtype);

/// Writes `tensors` (in this order) and `metadata` to `path`.
llvm::Error
writeSafetensors(llvm::StringRef path,
                 llvm::ArrayRef<std::pair<std::string, Tensor>> tensors,
                 const std::map<std::string, std::string> &metadata = {});

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_SAFETENSORS_H

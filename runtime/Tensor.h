//===- Tensor.h - Owning, aligned, contiguous tensors -----------*- C++ -*-===//
//
// The runtime's tensor: a dtype, a shape and a 64-byte aligned, contiguous
// buffer shared by every view of it. Kernels take exactly these buffers (as
// memref descriptors), so no strides are stored.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_TENSOR_H
#define CLUSOPT_RUNTIME_TENSOR_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace clusopt::runtime {

/// The element types generated kernels use (the manifest's spelling).
enum class DType { F32, F16, BF16, I32 };

/// Bytes per element.
size_t dtypeSize(DType dtype);
/// "f32", "f16", "bf16" or "i32", as in the kernel manifest.
llvm::StringRef dtypeName(DType dtype);
/// Parses a manifest dtype name.
std::optional<DType> parseDType(llvm::StringRef name);

/// "[2, 3, 4]".
std::string shapeString(llvm::ArrayRef<int64_t> shape);

/// Element count of `shape`, or an error for a negative dim or a product
/// that does not fit in int64 bytes of `elementSize`.
llvm::Expected<int64_t> checkedElementCount(llvm::ArrayRef<int64_t> shape,
                                            size_t elementSize);

/// IEEE half and bfloat16 conversions, round to nearest even. NaNs stay
/// NaNs (quiet), infinities and signed zeros are kept, f16 subnormals are
/// exact.
float halfToFloat(uint16_t bits);
uint16_t floatToHalf(float value);
float bf16ToFloat(uint16_t bits);
uint16_t floatToBf16(float value);

class Tensor {
public:
  /// Buffers are aligned to this many bytes (an AVX-512 vector, a cache
  /// line), and padded to a multiple of it.
  static constexpr size_t kAlignment = 64;

  /// An empty f32 tensor of shape [0].
  Tensor();

  /// An uninitialised tensor; fails on negative dims or size overflow.
  static llvm::Expected<Tensor> empty(DType dtype,
                                      llvm::ArrayRef<int64_t> shape);
  /// A zero-filled tensor.
  static llvm::Expected<Tensor> zeros(DType dtype,
                                      llvm::ArrayRef<int64_t> shape);
  /// A tensor over a buffer someone else allocated, released with
  /// `deleter(allocation)`; `data` points into that allocation (at it when
  /// `allocation` is null) and must be aligned to the element size.
  static Tensor adopt(DType dtype, llvm::ArrayRef<int64_t> shape, void *data,
                      void (*deleter)(void *), void *allocation = nullptr);

  DType dtype() const { return dtype_; }
  llvm::ArrayRef<int64_t> shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t axis) const { return shape_[axis]; }
  int64_t numElements() const { return numElements_; }
  size_t numBytes() const { return numElements_ * dtypeSize(dtype_); }

  void *raw() { return data_; }
  const void *raw() const { return data_; }
  /// Typed access; T must match the dtype (uint16_t for f16 and bf16).
  template <typename T> T *data() {
    assert(matches<T>() && "element type does not match the dtype");
    return static_cast<T *>(data_);
  }
  template <typename T> const T *data() const {
    assert(matches<T>() && "element type does not match the dtype");
    return static_cast<const T *>(data_);
  }

  /// A view with another shape of the same element count.
  llvm::Expected<Tensor> reshape(llvm::ArrayRef<int64_t> shape) const;
  /// A view of rows [begin, end) of axis 0.
  llvm::Expected<Tensor> slice(int64_t begin, int64_t end) const;
  /// A fresh copy, converted to `dtype`. Floats convert among f32, f16 and
  /// bf16; i32 only copies to i32.
  llvm::Expected<Tensor> to(DType dtype) const;
  /// A fresh copy.
  Tensor clone() const;

  /// Whether both views start at the same element of the same buffer.
  bool sharesStorageWith(const Tensor &other) const {
    return storage_ == other.storage_;
  }

  /// Element `i` (row-major) as a float, whatever the dtype.
  float getFloat(int64_t i) const;

private:
  template <typename T> bool matches() const {
    if constexpr (std::is_same_v<T, float>)
      return dtype_ == DType::F32;
    if constexpr (std::is_same_v<T, uint16_t>)
      return dtype_ == DType::F16 || dtype_ == DType::BF16;
    if constexpr (std::is_same_v<T, int32_t>)
      return dtype_ == DType::I32;
    return false;
  }

  DType dtype_ = DType::F32;
  llvm::SmallVector<int64_t, 4> shape_;
  int64_t numElements_ = 0;
  std::shared_ptr<void> storage_;
  void *data_ = nullptr;
};

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_TENSOR_H

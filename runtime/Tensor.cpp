//===- Tensor.cpp - Owning, aligned, contiguous tensors -------------------===//

#include "runtime/Tensor.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/bit.h"

#include <cstdlib>
#include <cstring>

using namespace clusopt::runtime;
using llvm::createStringError;
using llvm::Expected;

size_t clusopt::runtime::dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
    return 2;
  }
  llvm_unreachable("unknown dtype");
}

llvm::StringRef clusopt::runtime::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::I32:
    return "i32";
  }
  llvm_unreachable("unknown dtype");
}

std::optional<DType> clusopt::runtime::parseDType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<DType>>(name)
      .Case("f32", DType::F32)
      .Case("f16", DType::F16)
      .Case("bf16", DType::BF16)
      .Case("i32", DType::I32)
      .Default(std::nullopt);
}

std::string clusopt::runtime::shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? ", " : "") + std::to_string(d);
  return s + "]";
}

Expected<int64_t>
clusopt::runtime::checkedElementCount(llvm::ArrayRef<int64_t> shape,
                                      size_t elementSize) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return createStringError("negative dim in shape " + shapeString(shape));
    if (__builtin_mul_overflow(count, d, &count))
      return createStringError("element count of shape " + shapeString(shape) +
                               " overflows");
  }
  int64_t bytes;
  if (__builtin_mul_overflow(count, static_cast<int64_t>(elementSize), &bytes))
    return createStringError("byte size of shape " + shapeString(shape) +
                             " overflows");
  return count;
}

float clusopt::runtime::halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24 is exact in f32.
    float v = static_cast<float>(mant) * 0x1p-24f;
    return llvm::bit_cast<float>(llvm::bit_cast<uint32_t>(v) | sign);
  }
  if (exp == 31)
    return llvm::bit_cast<float>(sign | 0x7f800000 | (mant << 13));
  return llvm::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t clusopt::runtime::floatToHalf(float value) {
  uint32_t x = llvm::bit_cast<uint32_t>(value);
  uint16_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  if (absx > 0x7f800000) // NaN: quiet it, keep the top payload bits.
    return sign | 0x7e00 | ((absx >> 13) & 0x3ff);
  if (absx >= 0x477ff000) // 65520 and up round to infinity.
    return sign | 0x7c00;
  if (absx < 0x38800000) {
    // Below 2^-14 the result is subnormal: adding 0.5 aligns the f16 ulp
    // (2^-24) with the f32 ulp, so the FPU does the rounding to even.
    float t = llvm::bit_cast<float>(absx) + 0.5f;
    return sign |
           static_cast<uint16_t>(llvm::bit_cast<uint32_t>(t) - 0x3f000000);
  }
  // Normal: rebias the exponent, round the 13 dropped bits to even.
  uint32_t a = absx - 0x38000000;
  a += 0xfff + ((a >> 13) & 1);
  return sign | static_cast<uint16_t>(a >> 13);
}

float clusopt::runtime::bf16ToFloat(uint16_t bits) {
  return llvm::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

uint16_t clusopt::runtime::floatToBf16(float value) {
  uint32_t x = llvm::bit_cast<uint32_t>(value);
  if ((x & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

Tensor::Tensor() : shape_({0}) {}

Expected<Tensor> Tensor::empty(DType dtype, llvm::ArrayRef<int64_t> shape) {
  Expected<int64_t> count = checkedElementCount(shape, dtypeSize(dtype));
  if (!count)
    return count.takeError();
  // Round up to the alignment (aligned_alloc wants a multiple of it); never
  // allocate 0 bytes so every tensor has a distinct, valid pointer.
  size_t bytes = static_cast<size_t>(*count) * dtypeSize(dtype);
  if (bytes > SIZE_MAX - kAlignment)
    return createStringError("tensor of shape " + shapeString(shape) +
                             " is too large");
  size_t padded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void *data = std::aligned_alloc(kAlignment, padded ? padded : kAlignment);
  if (!data)
    return createStringError("cannot allocate " + std::to_string(bytes) +
                             " bytes for a tensor of shape " +
                             shapeString(shape));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_.assign(shape.begin(), shape.end());
  t.numElements_ = *count;
  t.storage_ = std::shared_ptr<void>(data, std::free);
  t.data_ = data;
  return t;
}

Expected<Tensor> Tensor::zeros(DType dtype, llvm::ArrayRef<int64_t> shape) {
  Expected<Tensor> t = empty(dtype, shape);
  if (t)
    std::memset(t->raw(), 0, t->numBytes());
  return t;
}

Tensor Tensor::adopt(DType dtype, llvm::ArrayRef<int64_t> shape, void *data,
                     void (*deleter)(void *), void *allocation) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_.assign(shape.begin(), shape.end());
  t.numElements_ = 1;
  for (int64_t d : shape)
    t.numElements_ *= d;
  t.storage_ = std::shared_ptr<void>(allocation ? allocation : data, deleter);
  t.data_ = data;
  return t;
}

Expected<Tensor> Tensor::reshape(llvm::ArrayRef<int64_t> shape) const {
  Expected<int64_t> count = checkedElementCount(shape, dtypeSize(dtype_));
  if (!count)
    return count.takeError();
  if (*count != numElements_)
    return createStringError("cannot reshape " + shapeString(shape_) + " (" +
                             std::to_string(numElements_) + " elements) to " +
                             shapeString(shape));
  Tensor t = *this;
  t.shape_.assign(shape.begin(), shape.end());
  return t;
}

Expected<Tensor> Tensor::slice(int64_t begin, int64_t end) const {
  if (shape_.empty())
    return createStringError("cannot slice a rank-0 tensor");
  if (begin < 0 || begin > end || end > shape_[0])
    return createStringError("slice [" + std::to_string(begin) + ", " +
                             std::to_string(end) + ") is out of range for " +
                             "axis 0 of shape " + shapeString(shape_));
  int64_t rowElements = shape_[0] ? numElements_ / shape_[0] : 0;
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.numElements_ = rowElements * (end - begin);
  t.data_ =
      static_cast<char *>(data_) + begin * rowElements * dtypeSize(dtype_);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = cantFail(empty(dtype_, shape_));
  std::memcpy(t.raw(), data_, numBytes());
  return t;
}

float Tensor::getFloat(int64_t i) const {
  switch (dtype_) {
  case DType::F32:
    return static_cast<const float *>(data_)[i];
  case DType::F16:
    return halfToFloat(static_cast<const uint16_t *>(data_)[i]);
  case DType::BF16:
    return bf16ToFloat(static_cast<const uint16_t *>(data_)[i]);
  case DType::I32:
    return static_cast<float>(static_cast<const int32_t *>(data_)[i]);
  }
  llvm_unreachable("unknown dtype");
}

Expected<Tensor> Tensor::to(DType dtype) const {
  if ((dtype == DType::I32) != (dtype_ == DType::I32))
    return createStringError("cannot convert a " + dtypeName(dtype_).str() +
                             " tensor to " + dtypeName(dtype).str());
  Expected<Tensor> out = empty(dtype, shape_);
  if (!out || dtype == dtype_) {
    if (out)
      std::memcpy(out->raw(), data_, numBytes());
    return out;
  }
  for (int64_t i = 0; i < numElements_; ++i) {
    float v = getFloat(i);
    switch (dtype) {
    case DType::F32:
      out->data<float>()[i] = v;
      break;
    case DType::F16:
      out->data<uint16_t>()[i] = floatToHalf(v);
      break;
    case DType::BF16:
      out->data<uint16_t>()[i] = floatToBf16(v);
      break;
    case DType::I32:
      llvm_unreachable("handled above");
    }
  }
  return out;
}

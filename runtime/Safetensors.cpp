//===- Safetensors.cpp - Hardened safetensors reader and writer -----------===//

#include "runtime/Safetensors.h"
#include "clusopt/Support/OutputFiles.h"
#include "runtime/Json.h"

#include "clusopt/Support/InputFile.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

using namespace clusopt::runtime;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

// Tensor data is stored little-endian and loaded with memcpy.
static_assert(llvm::endianness::native == llvm::endianness::little,
              "the safetensors reader assumes a little-endian host");

namespace {

/// Element size of a safetensors dtype; 0 for an unknown one.
size_t safetensorsElementSize(StringRef dtype) {
  return llvm::StringSwitch<size_t>(dtype)
      .Cases({"BOOL", "U8", "I8", "F8_E4M3", "F8_E5M2"}, 1)
      .Cases({"I16", "U16", "F16", "BF16"}, 2)
      .Cases({"I32", "U32", "F32"}, 4)
      .Cases({"I64", "U64", "F64"}, 8)
      .Default(0);
}

std::optional<DType> runtimeDType(StringRef dtype) {
  return llvm::StringSwitch<std::optional<DType>>(dtype)
      .Case("F32", DType::F32)
      .Case("F16", DType::F16)
      .Case("BF16", DType::BF16)
      .Case("I32", DType::I32)
      .Default(std::nullopt);
}

/// A JSON number that is an integer in [0, 2^63). Checked through the
/// double first, so that no out-of-range double is ever cast to int64.
std::optional<int64_t> nonNegativeInteger(const llvm::json::Value &v) {
  std::optional<double> d = v.getAsNumber();
  if (!d || !(*d >= 0) || *d >= 0x1p63 || std::trunc(*d) != *d)
    return std::nullopt;
  return v.getAsInteger();
}

Error tensorError(StringRef name, const llvm::Twine &problem) {
  return llvm::createStringError("tensor '" + name + "': " + problem);
}

/// Validates one header entry against a data section of `dataSize` bytes.
Expected<SafetensorsEntry>
parseEntry(StringRef name, const llvm::json::Value &value, uint64_t dataSize) {
  const llvm::json::Object *obj = value.getAsObject();
  if (!obj)
    return tensorError(name, "header entry is not a JSON object");
  for (const auto &kv : *obj)
    if (kv.first != "dtype" && kv.first != "shape" &&
        kv.first != "data_offsets")
      return tensorError(name, "unexpected key '" + StringRef(kv.first) +
                                   "' (expected dtype, shape, data_offsets)");
  SafetensorsEntry e;
  e.name = name.str();

  std::optional<StringRef> dtype = obj->getString("dtype");
  if (!dtype)
    return tensorError(name, "missing or non-string 'dtype'");
  e.dtype = dtype->str();
  e.elementSize = safetensorsElementSize(*dtype);
  if (!e.elementSize)
    return tensorError(name,
                       "unknown dtype '" + *dtype +
                           "' (known: BOOL, U8, I8, F8_E4M3, F8_E5M2, I16, "
                           "U16, F16, BF16, I32, U32, F32, I64, U64, F64)");

  const llvm::json::Array *shape = obj->getArray("shape");
  if (!shape)
    return tensorError(name, "missing or non-array 'shape'");
  for (auto [i, dim] : llvm::enumerate(*shape)) {
    std::optional<int64_t> d = nonNegativeInteger(dim);
    if (!d)
      return tensorError(name, "shape dim " + llvm::Twine(i) +
                                   " is not a non-negative integer");
    e.shape.push_back(*d);
  }
  Expected<int64_t> count = checkedElementCount(e.shape, e.elementSize);
  if (!count)
    return tensorError(name, llvm::toString(count.takeError()));

  const llvm::json::Array *offsets = obj->getArray("data_offsets");
  if (!offsets || offsets->size() != 2)
    return tensorError(name, "'data_offsets' must be an array [begin, end]");
  std::optional<int64_t> begin = nonNegativeInteger((*offsets)[0]);
  std::optional<int64_t> end = nonNegativeInteger((*offsets)[1]);
  if (!begin || !end)
    return tensorError(name,
                       "'data_offsets' must hold two non-negative integers");
  e.begin = static_cast<uint64_t>(*begin);
  e.end = static_cast<uint64_t>(*end);
  std::string range = "data_offsets [" + std::to_string(e.begin) + ", " +
                      std::to_string(e.end) + "]";
  if (e.begin > e.end)
    return tensorError(name, range + " has begin after end");
  if (e.end > dataSize)
    return tensorError(name, range + " runs past the end of the " +
                                 std::to_string(dataSize) +
                                 "-byte data section");
  uint64_t expected = static_cast<uint64_t>(*count) * e.elementSize;
  if (e.end - e.begin != expected)
    return tensorError(
        name, range + " holds " + std::to_string(e.end - e.begin) +
                  " bytes, but " + e.dtype + " " + shapeString(e.shape) +
                  " needs " + std::to_string(expected));
  return e;
}

/// llvm::json keeps one of two equal keys silently; a file that names a
/// tensor (or a field) twice is ambiguous, so scan the already validated
/// text for repeated keys in any object.
Error checkDuplicateKeys(StringRef text) {
  struct Frame {
    bool isObject;
    std::set<std::string> keys;
  };
  std::vector<Frame> stack;
  std::string topKey;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' || c == '[') {
      stack.push_back({c == '{', {}});
    } else if (c == '}' || c == ']') {
      stack.pop_back();
    } else if (c == '"') {
      size_t end = i + 1;
      bool escaped = false;
      for (; text[end] != '"'; ++end)
        if (text[end] == '\\') {
          escaped = true;
          ++end;
        }
      StringRef token = text.slice(i, end + 1);
      i = end;
      size_t next = text.find_first_not_of(" \t\r\n", end + 1);
      if (stack.empty() || !stack.back().isObject || next == StringRef::npos ||
          text[next] != ':')
        continue;
      std::string key = token.drop_front().drop_back().str();
      if (escaped) {
        Expected<llvm::json::Value> decoded = llvm::json::parse(token);
        if (!decoded)
          return decoded.takeError();
        key = decoded->getAsString().value_or("").str();
      }
      if (stack.size() == 1)
        topKey = key;
      if (!stack.back().keys.insert(key).second)
        return llvm::createStringError(
            stack.size() == 1
                ? "tensor '" + key + "' is listed twice"
                : "tensor '" + topKey + "': key '" + key + "' appears twice");
    }
  }
  return Error::success();
}

} // namespace

Expected<SafetensorsFile> SafetensorsFile::open(StringRef path) {
  auto buffer = clusopt::readInputFile(path, clusopt::kWeightsInput);
  if (!buffer)
    return buffer.takeError();
  return parse(std::move(*buffer));
}

Expected<SafetensorsFile>
SafetensorsFile::parse(std::unique_ptr<llvm::MemoryBuffer> buffer) {
  std::string where = buffer->getBufferIdentifier().str();
  auto fail = [&](const llvm::Twine &problem) -> Error {
    return llvm::createStringError(where + ": " + problem);
  };
  uint64_t size = buffer->getBufferSize();
  const auto *start =
      reinterpret_cast<const uint8_t *>(buffer->getBufferStart());
  if (size < 8)
    return fail("file is " + llvm::Twine(size) +
                " bytes, too short for the 8-byte header length");
  uint64_t headerSize = llvm::support::endian::read64le(start);
  if (headerSize > kMaxHeaderBytes)
    return fail("header length " + llvm::Twine(headerSize) +
                " exceeds the limit of " + llvm::Twine(kMaxHeaderBytes) +
                " bytes");
  if (headerSize > size - 8)
    return fail("header length " + llvm::Twine(headerSize) +
                " exceeds the file size " + llvm::Twine(size) +
                " minus 8 (file truncated?)");
  StringRef headerText(reinterpret_cast<const char *>(start + 8), headerSize);
  // A safetensors header nests 3 deep and has one object per tensor; the
  // limits bound llvm::json's recursion and memory (see Json.h).
  Expected<llvm::json::Value> header =
      parseJson(headerText, 16, kMaxHeaderObjects);
  if (!header)
    return fail("header is not valid JSON: " +
                llvm::toString(header.takeError()));
  const llvm::json::Object *root = header->getAsObject();
  if (!root)
    return fail("header is not a JSON object");
  if (Error err = checkDuplicateKeys(headerText))
    return fail(llvm::toString(std::move(err)));

  SafetensorsFile file;
  uint64_t dataSize = size - 8 - headerSize;
  // Sorted names make the first error reported independent of hashing.
  std::vector<StringRef> names;
  for (const auto &kv : *root)
    names.push_back(kv.first);
  llvm::sort(names);
  for (StringRef name : names) {
    const llvm::json::Value &value = *root->get(name);
    if (name == "__metadata__") {
      const llvm::json::Object *meta = value.getAsObject();
      if (!meta)
        return fail("'__metadata__' is not a JSON object");
      for (const auto &kv : *meta) {
        std::optional<StringRef> text = kv.second.getAsString();
        if (!text)
          return fail("'__metadata__' entry '" + StringRef(kv.first) +
                      "' is not a string");
        file.metadata_[kv.first.str()] = text->str();
      }
      continue;
    }
    Expected<SafetensorsEntry> entry = parseEntry(name, value, dataSize);
    if (!entry)
      return fail(llvm::toString(entry.takeError()));
    file.entries_.push_back(std::move(*entry));
  }

  // No two tensors may share a byte (empty tensors occupy none).
  std::vector<const SafetensorsEntry *> byOffset;
  for (const SafetensorsEntry &e : file.entries_)
    if (e.begin != e.end)
      byOffset.push_back(&e);
  llvm::sort(byOffset,
             [](const SafetensorsEntry *a, const SafetensorsEntry *b) {
               return std::tie(a->begin, a->end, a->name) <
                      std::tie(b->begin, b->end, b->name);
             });
  for (size_t i = 1; i < byOffset.size(); ++i) {
    const SafetensorsEntry &a = *byOffset[i - 1], &b = *byOffset[i];
    if (b.begin < a.end)
      return fail("tensors '" + a.name + "' (bytes [" + llvm::Twine(a.begin) +
                  ", " + llvm::Twine(a.end) + ")) and '" + b.name +
                  "' (bytes [" + llvm::Twine(b.begin) + ", " +
                  llvm::Twine(b.end) + ")) overlap");
  }

  file.data_ = start + 8 + headerSize;
  file.buffer_ = std::move(buffer);
  return file;
}

const SafetensorsEntry *SafetensorsFile::find(StringRef name) const {
  auto it = llvm::partition_point(
      entries_, [&](const SafetensorsEntry &e) { return e.name < name; });
  return it != entries_.end() && it->name == name ? &*it : nullptr;
}

llvm::ArrayRef<uint8_t>
SafetensorsFile::bytes(const SafetensorsEntry &entry) const {
  return {data_ + entry.begin, data_ + entry.end};
}

StringRef clusopt::runtime::safetensorsDTypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::I32:
    return "I32";
  }
  llvm_unreachable("unknown dtype");
}

Error SafetensorsFile::notFoundError(StringRef name) const {
  // torch.nn.parallel.DistributedDataParallel (and DataParallel) wrap the
  // model as `module`, so a state_dict saved from the wrapper has every
  // name prefixed.
  std::string prefixed = ("module." + name).str();
  if (find(prefixed))
    return tensorError(name, "not found in the weights file, but '" + prefixed +
                                 "' is: the weights were saved from a "
                                 "DistributedDataParallel/DataParallel "
                                 "wrapper; strip the 'module.' prefix "
                                 "(save model.module.state_dict())");
  return tensorError(name, "not found in the weights file");
}

Error SafetensorsFile::expect(StringRef name, DType dtype,
                              llvm::ArrayRef<int64_t> shape) const {
  const SafetensorsEntry *e = find(name);
  if (!e)
    return notFoundError(name);
  if (e->dtype != safetensorsDTypeName(dtype))
    return tensorError(name, "expected dtype " + safetensorsDTypeName(dtype) +
                                 ", got " + e->dtype);
  if (llvm::ArrayRef<int64_t>(e->shape) != shape)
    return tensorError(name, "expected shape " + shapeString(shape) + ", got " +
                                 shapeString(e->shape));
  return Error::success();
}

Expected<Tensor> SafetensorsFile::load(StringRef name) const {
  const SafetensorsEntry *e = find(name);
  if (!e)
    return notFoundError(name);
  std::optional<DType> dtype = runtimeDType(e->dtype);
  if (!dtype)
    return tensorError(name, "dtype " + e->dtype +
                                 " cannot be loaded (the runtime takes F32, "
                                 "F16, BF16 and I32)");
  Expected<Tensor> t = Tensor::empty(*dtype, e->shape);
  if (!t)
    return tensorError(name, llvm::toString(t.takeError()));
  std::memcpy(t->raw(), data_ + e->begin, e->end - e->begin);
  return t;
}

namespace {

/// Copies `n` floats, and whether any is a NaN or an infinity. Chunks are
/// checked right after their copy, while in L1: a separate pass would read
/// the weights from memory again (7% of loading paca_base).
bool copyFloatsAllFinite(float *dst, const uint8_t *src, int64_t n) {
  constexpr int64_t kChunk = 4096;
  uint32_t largest = 0; // of the magnitudes' bit patterns
  for (int64_t at = 0; at < n; at += kChunk) {
    int64_t count = std::min(kChunk, n - at);
    std::memcpy(dst + at, src + at * sizeof(float), count * sizeof(float));
    const auto *bits = reinterpret_cast<const uint32_t *>(dst + at);
    for (int64_t i = 0; i < count; ++i)
      largest = std::max(largest, bits[i] & 0x7fffffffu);
  }
  return largest < 0x7f800000u; // the exponent of inf and NaN
}

} // namespace

Expected<Tensor> SafetensorsFile::load(StringRef name, DType dtype,
                                       llvm::ArrayRef<int64_t> shape,
                                       bool requireFinite) const {
  if (Error err = expect(name, dtype, shape))
    return std::move(err);
  if (!requireFinite || dtype != DType::F32)
    return load(name);
  const SafetensorsEntry *e = find(name);
  Expected<Tensor> t = Tensor::empty(DType::F32, e->shape);
  if (!t)
    return tensorError(name, llvm::toString(t.takeError()));
  float *p = t->data<float>();
  int64_t n = t->numElements();
  if (copyFloatsAllFinite(p, data_ + e->begin, n))
    return t;
  return tensorError(name, nonFiniteSummary(p, n));
}

std::string clusopt::runtime::nonFiniteSummary(const float *values, int64_t n) {
  int64_t count = 0, first = -1;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(values[i])) {
      ++count;
      if (first < 0)
        first = i;
    }
  if (!count)
    return "";
  float v = first < 0 ? 0 : values[first];
  return llvm::formatv("{0} of {1} values are not finite (the first, at flat "
                       "index {2}, is {3})",
                       count, n, first,
                       std::isnan(v) ? "NaN"
                       : v > 0       ? "+inf"
                                     : "-inf")
      .str();
}

Error clusopt::runtime::writeSafetensors(
    StringRef path, llvm::ArrayRef<std::pair<std::string, Tensor>> tensors,
    const std::map<std::string, std::string> &metadata) {
  llvm::json::Object header;
  if (!metadata.empty()) {
    llvm::json::Object meta;
    for (const auto &[key, value] : metadata)
      meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto &[name, t] : tensors) {
    if (name == "__metadata__" || header.find(name) != header.end())
      return llvm::createStringError(path + ": tensor name '" + name +
                                     "' is reserved or used twice");
    header[name] = llvm::json::Object{
        {"dtype", safetensorsDTypeName(t.dtype())},
        {"shape", llvm::json::Array(t.shape())},
        {"data_offsets", llvm::json::Array{offset, offset + t.numBytes()}}};
    offset += t.numBytes();
  }
  std::string text;
  llvm::raw_string_ostream(text) << llvm::json::Value(std::move(header));
  // Pad with spaces so the data section starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  // Atomically: a failed write leaves the previous file, and a symlink at
  // `path` is replaced rather than written through.
  return clusopt::writeOutput(path, [&](llvm::raw_pwrite_stream &os) {
    char length[8];
    llvm::support::endian::write64le(length, text.size());
    os.write(length, 8);
    os << text;
    for (const auto &entry : tensors)
      os.write(static_cast<const char *>(entry.second.raw()),
               entry.second.numBytes());
    return Error::success();
  });
}

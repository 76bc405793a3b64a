//===- KernelLibrary.cpp - Loading and calling generated kernels ----------===//

#include "runtime/KernelLibrary.h"
#include "runtime/Json.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <set>
#include <utility>

using namespace clusopt::runtime;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace {

// Entry points are `void f([results *], args *...)`: every parameter is a
// pointer to a memref descriptor, so one caller per parameter count covers
// every signature.
using Caller = void (*)(void *, void *const *);

template <size_t... I>
void callWith(void *fn, void *const *params, std::index_sequence<I...>) {
  using Fn = void (*)(decltype((void)I, static_cast<void *>(nullptr))...);
  reinterpret_cast<Fn>(fn)(params[I]...);
}

template <size_t N> void callN(void *fn, void *const *params) {
  callWith(fn, params, std::make_index_sequence<N>());
}

template <size_t... N>
constexpr std::array<Caller, sizeof...(N)>
makeCallers(std::index_sequence<N...>) {
  return {&callN<N>...};
}

constexpr auto kCallers =
    makeCallers(std::make_index_sequence<KernelLibrary::kMaxTensors + 2>());

/// A memref descriptor of any rank: {allocated, aligned, offset, sizes[R],
/// strides[R]}. Every field is 8 bytes, so descriptors (and the struct of
/// several results) are arrays of words with no padding.
size_t descriptorWords(int64_t rank) { return 3 + 2 * rank; }

/// MLIR lowers memref.get_global with this dummy allocated pointer.
constexpr uintptr_t kGlobalAllocated = 0xdeadbeef;

Error manifestError(StringRef path, const Twine &problem) {
  return llvm::createStringError(path + ": " + problem);
}

Expected<TensorSpec> parseSpec(StringRef path, const Twine &where,
                               const llvm::json::Value &value) {
  const llvm::json::Object *obj = value.getAsObject();
  const llvm::json::Array *shape = obj ? obj->getArray("shape") : nullptr;
  std::optional<StringRef> dtypeText =
      obj ? obj->getString("dtype") : std::nullopt;
  if (!shape || !dtypeText)
    return manifestError(path, where + ": expected {\"shape\": [...], "
                                       "\"dtype\": \"...\"}");
  TensorSpec spec;
  std::optional<DType> dtype = parseDType(*dtypeText);
  if (!dtype)
    return manifestError(path, where + ": unsupported dtype '" + *dtypeText +
                                   "' (f32, f16, bf16, i32)");
  spec.dtype = *dtype;
  if (static_cast<int64_t>(shape->size()) > KernelLibrary::kMaxRank)
    return manifestError(path, where + ": rank " + Twine(shape->size()) +
                                   " exceeds the supported " +
                                   Twine(KernelLibrary::kMaxRank));
  for (const llvm::json::Value &d : *shape) {
    if (d.getAsNull()) {
      spec.shape.push_back(TensorSpec::kDynamic);
      continue;
    }
    std::optional<double> n = d.getAsNumber();
    if (!n || !(*n >= 0) || *n >= 0x1p62 || std::trunc(*n) != *n)
      return manifestError(path, where + ": a dim must be null or a "
                                         "non-negative integer");
    spec.shape.push_back(*d.getAsInteger());
  }
  return spec;
}

Expected<EntryPoint> parseEntryPoint(StringRef path, size_t index,
                                     const llvm::json::Value &value) {
  std::string where = "entry point " + std::to_string(index);
  const llvm::json::Object *obj = value.getAsObject();
  std::optional<StringRef> name = obj ? obj->getString("name") : std::nullopt;
  std::optional<StringRef> symbol =
      obj ? obj->getString("symbol") : std::nullopt;
  const llvm::json::Array *args = obj ? obj->getArray("arguments") : nullptr;
  const llvm::json::Array *results = obj ? obj->getArray("results") : nullptr;
  if (!name || !symbol || !args || !results)
    return manifestError(path, where + ": expected name, symbol, arguments "
                                       "and results");
  EntryPoint e;
  e.name = name->str();
  e.symbol = symbol->str();
  if (args->size() > KernelLibrary::kMaxTensors ||
      results->size() > KernelLibrary::kMaxTensors)
    return manifestError(path, "entry point '" + e.name + "': more than " +
                                   Twine(KernelLibrary::kMaxTensors) +
                                   " arguments or results");
  for (auto [list, json, kind] : {std::tuple{&e.arguments, args, "argument"},
                                  std::tuple{&e.results, results, "result"}}) {
    for (auto [i, v] : llvm::enumerate(*json)) {
      Expected<TensorSpec> spec = parseSpec(
          path, "entry point '" + e.name + "' " + kind + " " + Twine(i), v);
      if (!spec)
        return spec.takeError();
      list->push_back(std::move(*spec));
    }
  }
  return e;
}

std::string describe(const Tensor &t) {
  return dtypeName(t.dtype()).str() + " tensor of shape " +
         shapeString(t.shape());
}

} // namespace

std::string TensorSpec::str() const {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += (d == kDynamic ? std::string("?") : std::to_string(d)) + "x";
  return s + dtypeName(dtype).str() + ">";
}

Expected<std::unique_ptr<KernelLibrary>>
KernelLibrary::open(StringRef libraryPath, StringRef manifestPath) {
  llvm::SmallString<256> library(libraryPath), manifest(manifestPath);
  // dlopen searches the library path for names without a slash.
  if (std::error_code ec = llvm::sys::fs::make_absolute(library))
    return manifestError(libraryPath, "cannot resolve: " + ec.message());
  if (manifest.empty()) {
    manifest = library;
    llvm::sys::path::replace_extension(manifest, ".json");
  }

  auto text = llvm::MemoryBuffer::getFile(manifest, /*IsText=*/true);
  if (!text)
    return manifestError(manifest, "cannot read the kernel manifest: " +
                                       text.getError().message());
  Expected<llvm::json::Value> json =
      parseJson((*text)->getBuffer(), 64, 1'000'000);
  if (!json)
    return manifestError(manifest,
                         "not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  std::optional<StringRef> format =
      root ? root->getString("format") : std::nullopt;
  if (!format || *format != "clusopt-kernels/1")
    return manifestError(manifest, "not a clusopt-kernels/1 manifest");
  const llvm::json::Array *entries = root->getArray("entry_points");
  if (!entries)
    return manifestError(manifest, "missing 'entry_points'");

  std::unique_ptr<KernelLibrary> lib(new KernelLibrary());
  lib->path_ = library.str().str();
  if (const llvm::json::Object *target = root->getObject("target"))
    lib->target_ = target->getString("name").value_or("").str();
  for (auto [i, v] : llvm::enumerate(*entries)) {
    Expected<EntryPoint> e = parseEntryPoint(manifest, i, v);
    if (!e)
      return e.takeError();
    if (lib->find(e->name))
      return manifestError(manifest,
                           "entry point '" + e->name + "' listed twice");
    lib->entries_.push_back(std::move(*e));
  }

  lib->handle_ = dlopen(lib->path_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle_)
    return manifestError(lib->path_, Twine("cannot load: ") + dlerror());
  for (EntryPoint &e : lib->entries_) {
    e.function = dlsym(lib->handle_, e.symbol.c_str());
    if (!e.function)
      return manifestError(lib->path_,
                           "entry point '" + e.name + "': symbol '" + e.symbol +
                               "' not found (manifest and library differ?)");
  }
  return lib;
}

KernelLibrary::~KernelLibrary() {
  if (handle_)
    dlclose(handle_);
}

const EntryPoint *KernelLibrary::find(StringRef name) const {
  for (const EntryPoint &e : entries_)
    if (e.name == name)
      return &e;
  return nullptr;
}

Expected<std::vector<Tensor>>
KernelLibrary::call(StringRef name, llvm::ArrayRef<Tensor> args) const {
  const EntryPoint *e = find(name);
  if (!e)
    return llvm::createStringError(path_ + ": no entry point '" + name + "'");
  auto fail = [&](const Twine &problem) -> Error {
    return llvm::createStringError("kernel '" + name + "': " + problem);
  };
  if (args.size() != e->arguments.size())
    return fail("expected " + Twine(e->arguments.size()) + " arguments, got " +
                Twine(args.size()));
  for (auto [i, t, spec] : llvm::enumerate(args, e->arguments)) {
    bool ok = t.dtype() == spec.dtype && t.rank() == (int64_t)spec.shape.size();
    for (int64_t d = 0; ok && d < t.rank(); ++d)
      ok = spec.shape[d] == TensorSpec::kDynamic || spec.shape[d] == t.dim(d);
    if (!ok)
      return fail("argument " + Twine(i) + ": expected " + spec.str() +
                  ", got " + describe(t));
  }

  // Arguments: contiguous descriptors over the tensors' own buffers.
  std::vector<std::vector<uint64_t>> argDescs;
  for (const Tensor &t : args) {
    std::vector<uint64_t> words(descriptorWords(t.rank()));
    words[0] = words[1] = reinterpret_cast<uintptr_t>(t.raw());
    words[2] = 0;
    int64_t stride = 1;
    for (int64_t d = t.rank() - 1; d >= 0; --d) {
      words[3 + d] = t.dim(d);
      words[3 + t.rank() + d] = stride;
      stride *= t.dim(d);
    }
    argDescs.push_back(std::move(words));
  }
  // Results: one struct of descriptors, filled in by the kernel.
  size_t resultWords = 0;
  for (const TensorSpec &spec : e->results)
    resultWords += descriptorWords(spec.shape.size());
  std::vector<uint64_t> results(resultWords, 0);

  std::vector<void *> params;
  if (!e->results.empty())
    params.push_back(results.data());
  for (std::vector<uint64_t> &words : argDescs)
    params.push_back(words.data());
  kCallers[params.size()](e->function, params.data());

  // Results are the caller's to free, unless they alias an argument or a
  // constant (defensive: the deallocation pipeline clones those). A buffer
  // returned twice is copied for each result and freed once.
  auto ownedByKernel = [&](uintptr_t p) {
    if (!p || p == kGlobalAllocated)
      return false;
    for (const Tensor &t : args) {
      auto begin = reinterpret_cast<uintptr_t>(t.raw());
      if (p >= begin && p < begin + std::max<size_t>(t.numBytes(), 1))
        return false;
    }
    Dl_info info;
    return !dladdr(reinterpret_cast<void *>(p), &info);
  };
  std::multiset<uintptr_t> allocations;
  for (size_t i = 0, at = 0; i < e->results.size(); ++i) {
    allocations.insert(results[at]);
    at += descriptorWords(e->results[i].shape.size());
  }
  std::set<uintptr_t> toFree;
  std::vector<Tensor> out;
  std::optional<Error> error;
  const uint64_t *words = results.data();
  for (auto [i, spec] : llvm::enumerate(e->results)) {
    int64_t rank = spec.shape.size();
    uintptr_t allocated = words[0], aligned = words[1];
    int64_t offset = words[2];
    llvm::SmallVector<int64_t, 4> shape, strides;
    for (int64_t d = 0; d < rank; ++d) {
      shape.push_back(words[3 + d]);
      strides.push_back(words[3 + rank + d]);
    }
    words += descriptorWords(rank);
    bool owned = ownedByKernel(allocated);
    bool valid = aligned != 0 && offset >= 0;
    for (int64_t d = 0; d < rank; ++d)
      valid &= shape[d] >= 0 && (spec.shape[d] == TensorSpec::kDynamic ||
                                 spec.shape[d] == shape[d]);
    Expected<int64_t> count = checkedElementCount(shape, dtypeSize(spec.dtype));
    if (!valid || !count) {
      if (!count)
        llvm::consumeError(count.takeError());
      if (!error)
        error = fail("result " + Twine(i) + " has shape " + shapeString(shape) +
                     ", expected " + spec.str());
      if (owned)
        toFree.insert(allocated);
      continue;
    }
    bool contiguous = offset == 0;
    for (int64_t d = rank - 1, s = 1; d >= 0; s *= shape[d], --d)
      contiguous &= shape[d] <= 1 || strides[d] == s;
    if (owned && allocations.count(allocated) == 1 && contiguous &&
        allocated == aligned && aligned % Tensor::kAlignment == 0) {
      // Take the buffer as it is; the tensor frees it.
      out.push_back(Tensor::adopt(
          spec.dtype, shape, reinterpret_cast<void *>(aligned), std::free));
      continue;
    }
    // Copy into an aligned tensor of our own: one block when contiguous
    // (memref.alloc over-allocates to align, so `allocated != aligned` is
    // the usual case), element by element otherwise.
    Tensor t = cantFail(Tensor::empty(spec.dtype, shape));
    size_t size = dtypeSize(spec.dtype);
    const char *base = reinterpret_cast<const char *>(aligned);
    if (contiguous) {
      std::memcpy(t.raw(), base + offset * size, *count * size);
      out.push_back(std::move(t));
      if (owned)
        toFree.insert(allocated);
      continue;
    }
    llvm::SmallVector<int64_t, 4> index(rank, 0);
    for (int64_t n = 0; n < *count; ++n) {
      int64_t at = offset;
      for (int64_t d = 0; d < rank; ++d)
        at += index[d] * strides[d];
      std::memcpy(static_cast<char *>(t.raw()) + n * size, base + at * size,
                  size);
      for (int64_t d = rank - 1; d >= 0 && ++index[d] == shape[d]; --d)
        index[d] = 0;
    }
    out.push_back(std::move(t));
    if (owned)
      toFree.insert(allocated);
  }
  for (uintptr_t p : toFree)
    std::free(reinterpret_cast<void *>(p));
  if (error)
    return std::move(*error);
  return out;
}

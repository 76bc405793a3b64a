//===- KernelLibrary.cpp - Loading and calling generated kernels ----------===//

#include "runtime/KernelLibrary.h"
#include "runtime/Json.h"
#include "runtime/cuda/GpuRuntime.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
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

/// The C interface of libclusopt_gpu_runtime.so (runtime/cuda/GpuRuntime.h),
/// resolved with dlsym: the runtime links nothing from it, so CPU-only
/// programs never need the GPU runtime.
struct KernelLibrary::GpuRuntime {
  std::string path;
  decltype(&clusopt_gpu_available) available = nullptr;
  decltype(&clusopt_gpu_take_error) takeError = nullptr;
  decltype(&clusopt_gpu_alloc) alloc = nullptr;
  decltype(&clusopt_gpu_free) free = nullptr;
  decltype(&clusopt_gpu_copy_to_device) copyToDevice = nullptr;
  decltype(&clusopt_gpu_copy_to_host) copyToHost = nullptr;
  decltype(&clusopt_gpu_is_device_pointer) isDevicePointer = nullptr;
  decltype(&clusopt_gpu_synchronize) synchronize = nullptr;
};

namespace {

using GpuRuntime = KernelLibrary::GpuRuntime;
constexpr const char *kGpuRuntimeName = "libclusopt_gpu_runtime.so";

/// The error the GPU runtime recorded (and clears), or "".
std::string takeGpuError(const GpuRuntime *gpu) {
  char buf[4096] = {};
  return gpu->takeError(buf, sizeof(buf)) ? std::string(buf) : std::string();
}

/// Device copies of a call's arguments, freed when it returns.
struct DeviceBuffers {
  explicit DeviceBuffers(const GpuRuntime *gpu) : gpu(gpu) {}
  ~DeviceBuffers() {
    for (void *p : ptrs)
      gpu->free(p);
  }
  DeviceBuffers(const DeviceBuffers &) = delete;
  DeviceBuffers &operator=(const DeviceBuffers &) = delete;
  const GpuRuntime *gpu;
  std::vector<void *> ptrs;
};

/// Copies `count` elements of a strided view, element `at` of the view at
/// `base + at * size`, into `t` in row-major order.
void gather(Tensor &t, const char *base, int64_t offset,
            llvm::ArrayRef<int64_t> strides, int64_t count) {
  int64_t rank = t.rank();
  size_t size = dtypeSize(t.dtype());
  llvm::SmallVector<int64_t, 4> index(rank, 0);
  for (int64_t n = 0; n < count; ++n) {
    int64_t at = offset;
    for (int64_t d = 0; d < rank; ++d)
      at += index[d] * strides[d];
    std::memcpy(static_cast<char *>(t.raw()) + n * size, base + at * size,
                size);
    for (int64_t d = rank - 1; d >= 0 && ++index[d] == t.dim(d); --d)
      index[d] = 0;
  }
}

/// A device result as a host tensor: one copy when contiguous; else the
/// span of elements the view covers is staged on the host and gathered.
Expected<Tensor> copyFromDevice(const GpuRuntime &gpu, DType dtype,
                                llvm::ArrayRef<int64_t> shape,
                                llvm::ArrayRef<int64_t> strides,
                                uintptr_t aligned, int64_t offset,
                                bool contiguous, int64_t count) {
  Tensor t = cantFail(Tensor::empty(dtype, shape));
  size_t size = dtypeSize(dtype);
  if (count == 0)
    return t;
  auto copy = [&](void *dst, int64_t first, int64_t elements) -> Error {
    if (gpu.copyToHost(dst,
                       reinterpret_cast<const void *>(aligned + first * size),
                       elements * size) == 0)
      return Error::success();
    return llvm::createStringError(takeGpuError(&gpu));
  };
  if (contiguous) {
    if (Error err = copy(t.raw(), offset, count))
      return std::move(err);
    return t;
  }
  // Element offsets of the view lie in [lo, hi].
  int64_t lo = offset, hi = offset;
  bool overflow = false;
  for (auto [n, stride] : llvm::zip_equal(shape, strides)) {
    int64_t extent = 0;
    overflow |= __builtin_mul_overflow(n - 1, stride, &extent);
    overflow |= __builtin_add_overflow(extent < 0 ? lo : hi, extent,
                                       extent < 0 ? &lo : &hi);
  }
  int64_t span = 0, bytes = 0;
  overflow |= __builtin_sub_overflow(hi, lo, &span) ||
              __builtin_add_overflow(span, 1, &span) ||
              __builtin_mul_overflow(span, int64_t(size), &bytes);
  if (overflow || lo < 0)
    return llvm::createStringError("strides " + shapeString(strides) +
                                   " and offset " + Twine(offset) +
                                   " reach outside the buffer");
  std::vector<char> staging(bytes);
  if (Error err = copy(staging.data(), lo, span))
    return std::move(err);
  gather(t, staging.data(), offset - lo, strides, count);
  return t;
}

} // namespace

Expected<const KernelLibrary::GpuRuntime *>
KernelLibrary::loadGpuRuntime(StringRef besideLibrary) {
  static std::mutex mutex;
  static const GpuRuntime *loaded = nullptr; // never unloaded
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded)
    return loaded;

  std::vector<std::string> candidates;
  const char *env = std::getenv("CLUSOPT_GPU_RUNTIME");
  if (env && *env) {
    candidates.push_back(env);
  } else {
    llvm::SmallString<256> exe, path;
    if (!llvm::sys::fs::real_path("/proc/self/exe", exe)) {
      path = llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe));
      llvm::sys::path::append(path, "lib", kGpuRuntimeName);
      candidates.push_back(path.str().str());
    }
    if (!besideLibrary.empty()) {
      path = llvm::sys::path::parent_path(besideLibrary);
      llvm::sys::path::append(path, kGpuRuntimeName);
      candidates.push_back(path.str().str());
    }
    candidates.push_back(kGpuRuntimeName); // the dynamic linker's search
  }

  std::string tried;
  for (const std::string &candidate : candidates) {
    // Global, so that kernel libraries loaded later bind their mgpu* calls
    // to it.
    void *handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle) {
      const char *why = dlerror(); // names the file
      tried += "\n  " + (why ? why : candidate + ": cannot load");
      continue;
    }
    auto gpu = std::make_unique<GpuRuntime>();
    gpu->path = candidate;
    std::vector<std::string> missing;
    auto resolve = [&](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(handle, name));
      if (!fn)
        missing.push_back(name);
    };
    resolve(gpu->available, "clusopt_gpu_available");
    resolve(gpu->takeError, "clusopt_gpu_take_error");
    resolve(gpu->alloc, "clusopt_gpu_alloc");
    resolve(gpu->free, "clusopt_gpu_free");
    resolve(gpu->copyToDevice, "clusopt_gpu_copy_to_device");
    resolve(gpu->copyToHost, "clusopt_gpu_copy_to_host");
    resolve(gpu->isDevicePointer, "clusopt_gpu_is_device_pointer");
    resolve(gpu->synchronize, "clusopt_gpu_synchronize");
    if (!missing.empty()) {
      tried += "\n  " + candidate + ": not the clusopt GPU runtime (lacks " +
               llvm::join(missing, ", ") + ")";
      continue; // left loaded: unloading a global library is not safe
    }
    loaded = gpu.release();
    return loaded;
  }
  return llvm::createStringError(
      Twine("cannot load ") + kGpuRuntimeName +
      " (set $CLUSOPT_GPU_RUNTIME to its path); tried:" + tried);
}

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

  // A GPU library's global constructor loads its kernels through the GPU
  // runtime, which must be there first and have a GPU to load them on.
  if (StringRef(lib->target_).starts_with("sm_")) {
    Expected<const GpuRuntime *> gpu = loadGpuRuntime(lib->path_);
    if (!gpu)
      return manifestError(lib->path_, "targets " + lib->target_ + ": " +
                                           llvm::toString(gpu.takeError()));
    char reason[1024] = {};
    if (!(*gpu)->available(reason, sizeof(reason)))
      return manifestError(lib->path_, "targets " + lib->target_ +
                                           ", but no GPU is usable: " + reason);
    takeGpuError(*gpu); // not this library's
    lib->gpu_ = *gpu;
  }

  lib->handle_ = dlopen(lib->path_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle_)
    return manifestError(lib->path_, Twine("cannot load: ") + dlerror());
  if (lib->gpu_) {
    std::string gpuError = takeGpuError(lib->gpu_);
    if (!gpuError.empty())
      return manifestError(lib->path_,
                           "loading its GPU kernels failed: " + gpuError);
  }
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

  // The buffers the kernel sees: the tensors' own on a CPU, device copies
  // of them on a GPU (freed on every return path).
  std::vector<uintptr_t> buffers;
  DeviceBuffers deviceArgs(gpu_);
  if (gpu_) {
    takeGpuError(gpu_); // not this call's
    for (auto [i, t] : llvm::enumerate(args)) {
      void *p = gpu_->alloc(t.numBytes());
      if (!p)
        return fail("argument " + Twine(i) + ": " + takeGpuError(gpu_));
      deviceArgs.ptrs.push_back(p);
      if (gpu_->copyToDevice(p, t.raw(), t.numBytes()) != 0)
        return fail("argument " + Twine(i) + ": " + takeGpuError(gpu_));
      buffers.push_back(reinterpret_cast<uintptr_t>(p));
    }
  } else {
    for (const Tensor &t : args)
      buffers.push_back(reinterpret_cast<uintptr_t>(t.raw()));
  }

  // Arguments: contiguous descriptors over those buffers.
  std::vector<std::vector<uint64_t>> argDescs;
  for (auto [t, buffer] : llvm::zip_equal(args, buffers)) {
    std::vector<uint64_t> words(descriptorWords(t.rank()));
    words[0] = words[1] = buffer;
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
    for (auto [t, begin] : llvm::zip_equal(args, buffers))
      if (p >= begin && p < begin + std::max<size_t>(t.numBytes(), 1))
        return false;
    Dl_info info;
    return !dladdr(reinterpret_cast<void *>(p), &info);
  };
  // On a GPU, results are device allocations (mgpuMemAlloc), unless the
  // host code returned host memory.
  auto onDevice = [&](uintptr_t p) {
    return gpu_ && p && gpu_->isDevicePointer(reinterpret_cast<void *>(p));
  };
  std::multiset<uintptr_t> allocations;
  for (size_t i = 0, at = 0; i < e->results.size(); ++i) {
    allocations.insert(results[at]);
    at += descriptorWords(e->results[i].shape.size());
  }
  std::set<uintptr_t> toFree, toFreeOnDevice;
  auto release = [&](uintptr_t allocated) {
    (onDevice(allocated) ? toFreeOnDevice : toFree).insert(allocated);
  };
  std::vector<Tensor> out;
  std::optional<Error> error;
  if (gpu_) {
    // The kernel's streams are not the default stream: wait for all work
    // before reading results, then collect what the runtime recorded.
    gpu_->synchronize();
    std::string gpuError = takeGpuError(gpu_);
    if (!gpuError.empty())
      error = fail("GPU error: " + gpuError);
  }
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
    if (error) {
      // A failed GPU call: free what it allocated on the device, read
      // nothing (the descriptors may be partly written).
      if (owned && onDevice(allocated))
        toFreeOnDevice.insert(allocated);
      continue;
    }
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
        release(allocated);
      continue;
    }
    bool contiguous = offset == 0;
    for (int64_t d = rank - 1, s = 1; d >= 0; s *= shape[d], --d)
      contiguous &= shape[d] <= 1 || strides[d] == s;
    size_t size = dtypeSize(spec.dtype);
    if (onDevice(aligned)) {
      Expected<Tensor> t = copyFromDevice(*gpu_, spec.dtype, shape, strides,
                                          aligned, offset, contiguous, *count);
      if (!t) {
        if (!error)
          error =
              fail("result " + Twine(i) + ": " + llvm::toString(t.takeError()));
        else
          llvm::consumeError(t.takeError());
      } else {
        out.push_back(std::move(*t));
      }
      if (owned)
        release(allocated);
      continue;
    }
    uintptr_t first = aligned + offset * size;
    if (owned && allocations.count(allocated) == 1 && contiguous &&
        first % Tensor::kAlignment == 0) {
      // Take the buffer as it is: the tensor views it from `first` and
      // frees `allocated` (memref.alloc over-allocates to align, so the
      // two usually differ).
      out.push_back(Tensor::adopt(spec.dtype, shape,
                                  reinterpret_cast<void *>(first), std::free,
                                  reinterpret_cast<void *>(allocated)));
      continue;
    }
    // Copy into an aligned tensor of our own: one block when contiguous,
    // element by element otherwise.
    Tensor t = cantFail(Tensor::empty(spec.dtype, shape));
    const char *base = reinterpret_cast<const char *>(aligned);
    if (contiguous)
      std::memcpy(t.raw(), base + offset * size, *count * size);
    else
      gather(t, base, offset, strides, *count);
    out.push_back(std::move(t));
    if (owned)
      release(allocated);
  }
  for (uintptr_t p : toFree)
    std::free(reinterpret_cast<void *>(p));
  if (gpu_) {
    for (uintptr_t p : toFreeOnDevice)
      gpu_->free(reinterpret_cast<void *>(p));
    // An error while copying back or freeing.
    std::string gpuError = takeGpuError(gpu_);
    if (!gpuError.empty() && !error)
      error = fail("GPU error: " + gpuError);
  }
  if (error)
    return std::move(*error);
  return out;
}

//===- fake-libcuda.cpp - A CUDA driver double for machines without a GPU -===//
//
// libclusopt_fake_cuda.so exports the driver entry points that
// runtime/cuda/CudaDriver resolves, so that the GPU runtime's success paths
// (memory, modules, launches, events) and KernelLibrary's GPU calls run in
// CI on machines without a GPU: point $CLUSOPT_LIBCUDA at it.
//
// "Device" memory is host memory, but the double is strict about it:
// allocations are tracked, and copies, memsets and kernels touching memory
// outside them fail with CUDA_ERROR_INVALID_VALUE or
// CUDA_ERROR_ILLEGAL_ADDRESS, so a host pointer passed where a device
// pointer belongs is caught. A context must be current for every call that
// needs one. Modules are PTX text; their kernels run on the host when the
// double knows them by name:
//
//   twice(float *x, float *y, u32 n)        y[i] = 2 x[i], i < n
//   twice_kernel(memref<?xf32> x, memref<?xf32> y, index n)
//       the same with the two memref descriptors expanded to 5 parameters
//       each, as upstream MLIR's gpu-to-llvm passes them
//
// for i below grid.x * block.x. Other entries load but fail to launch.
//
// Environment: CLUSOPT_FAKE_CUDA_INIT=<code> makes cuInit return it;
// CLUSOPT_FAKE_CUDA_DEVICES=<n> sets the device count (1);
// CLUSOPT_FAKE_CUDA_SM=<XY> the compute capability (90);
// CLUSOPT_FAKE_CUDA_JIT_FAIL=1 fails every module load.
// Built with CLUSOPT_FAKE_CUDA_OLD, it lacks cuPointerGetAttribute and
// cuLaunchKernelEx, like a driver too old for clusopt.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using CUresult = int;
using DevicePtr = uint64_t;

enum : CUresult {
  Success = 0,
  InvalidValue = 1,
  OutOfMemory = 2,
  NotInitialized = 3,
  InvalidDevice = 101,
  InvalidContext = 201,
  NoBinaryForGpu = 209,
  InvalidPtx = 218,
  InvalidHandle = 400,
  NotFound = 500,
  NotReady = 600,
  IllegalAddress = 700,
  LaunchFailed = 719,
  HostMemoryNotRegistered = 713,
  InvalidClusterSize = 912,
};

int envInt(const char *name, int fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

struct Module {
  std::vector<std::string> entries;
  std::vector<std::string *> functions; // handles given out, freed on unload
};

struct Event {
  bool timing = true, recorded = false;
  std::chrono::steady_clock::time_point at;
};

struct State {
  std::mutex mutex;
  bool initialized = false;
  char contexts[16] = {};
  std::map<uintptr_t, size_t> allocations; // base -> bytes
  std::map<uintptr_t, size_t> registered;  // page-locked host memory
  std::set<Module *> modules;
  std::set<std::string *> functions;
  std::set<void *> streams;
  std::set<Event *> events;
};

State &state() {
  static auto *s = new State();
  return *s;
}

thread_local void *currentContext = nullptr;

int deviceCount() { return envInt("CLUSOPT_FAKE_CUDA_DEVICES", 1); }

/// Whether [p, p + bytes) lies in one allocation (lock held).
bool inAllocation(const State &s, uintptr_t p, size_t bytes) {
  auto it = s.allocations.upper_bound(p);
  if (it == s.allocations.begin())
    return false;
  --it;
  return p >= it->first && p - it->first <= it->second &&
         bytes <= it->second - (p - it->first);
}

/// Initialised, with a context current on this thread.
CUresult ready() {
  if (!state().initialized)
    return NotInitialized;
  return currentContext ? Success : InvalidContext;
}

struct Launch {
  std::string name;
  uint64_t threads;
  void **params;
};

CUresult run(State &s, const Launch &l) {
  if (!l.params)
    return InvalidValue;
  auto param = [&](int i) { return l.params[i]; };
  if (l.name == "twice") {
    auto x = *static_cast<uintptr_t *>(param(0));
    auto y = *static_cast<uintptr_t *>(param(1));
    uint64_t n =
        std::min<uint64_t>(*static_cast<uint32_t *>(param(2)), l.threads);
    if (n && (!inAllocation(s, x, n * 4) || !inAllocation(s, y, n * 4)))
      return IllegalAddress;
    for (uint64_t i = 0; i < n; ++i)
      reinterpret_cast<float *>(y)[i] = 2 * reinterpret_cast<float *>(x)[i];
    return Success;
  }
  if (l.name == "twice_kernel") {
    // {allocated, aligned, offset, size, stride} for x, then y, then n.
    auto x = *static_cast<uintptr_t *>(param(1));
    auto xOffset = *static_cast<int64_t *>(param(2));
    auto xStride = *static_cast<int64_t *>(param(4));
    auto y = *static_cast<uintptr_t *>(param(6));
    auto yOffset = *static_cast<int64_t *>(param(7));
    auto yStride = *static_cast<int64_t *>(param(9));
    auto n = *static_cast<int64_t *>(param(10));
    if (n < 0 || xOffset < 0 || yOffset < 0 || xStride < 1 || yStride < 1)
      return IllegalAddress;
    uint64_t count = std::min<uint64_t>(n, l.threads);
    for (uint64_t i = 0; i < count; ++i) {
      uintptr_t from = x + 4 * (xOffset + i * xStride);
      uintptr_t to = y + 4 * (yOffset + i * yStride);
      if (!inAllocation(s, from, 4) || !inAllocation(s, to, 4))
        return IllegalAddress;
      *reinterpret_cast<float *>(to) = 2 * *reinterpret_cast<float *>(from);
    }
    return Success;
  }
  return LaunchFailed;
}

CUresult launch(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                unsigned by, unsigned bz, void **params) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  auto *name = static_cast<std::string *>(fn);
  if (!s.functions.count(name))
    return InvalidHandle;
  if (!gx || !gy || !gz || !bx || !by || !bz || bx * by * bz > 1024)
    return InvalidValue;
  return run(s, {*name, uint64_t(gx) * bx, params});
}

CUresult copy(uintptr_t dst, bool dstDevice, uintptr_t src, bool srcDevice,
              size_t bytes) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  if ((dstDevice && !inAllocation(s, dst, bytes)) ||
      (srcDevice && !inAllocation(s, src, bytes)))
    return InvalidValue;
  std::memmove(reinterpret_cast<void *>(dst),
               reinterpret_cast<const void *>(src), bytes);
  return Success;
}

template <typename T> CUresult fill(DevicePtr dst, T value, size_t count) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  if (!inAllocation(s, dst, count * sizeof(T)))
    return InvalidValue;
  std::fill_n(reinterpret_cast<T *>(dst), count, value);
  return Success;
}

CUresult allocate(DevicePtr *ptr, size_t bytes) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  if (!ptr || !bytes)
    return InvalidValue;
  if (bytes > (size_t(1) << 40))
    return OutOfMemory;
  void *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p)
    return OutOfMemory;
  *ptr = reinterpret_cast<uintptr_t>(p);
  s.allocations[*ptr] = bytes;
  return Success;
}

/// Copies `text` into the JIT error log the caller passed, if any.
void writeJitLog(unsigned n, const int *options, void **values,
                 const char *text) {
  char *buffer = nullptr;
  size_t size = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (options[i] == 5)
      buffer = static_cast<char *>(values[i]);
    if (options[i] == 6)
      size = reinterpret_cast<uintptr_t>(values[i]);
  }
  if (buffer && size)
    std::snprintf(buffer, size, "%s", text);
}

} // namespace

FAKE_EXPORT CUresult cuInit(unsigned) {
  CUresult r = envInt("CLUSOPT_FAKE_CUDA_INIT", Success);
  if (r == Success)
    state().initialized = true;
  return r;
}

FAKE_EXPORT CUresult cuDriverGetVersion(int *version) {
  *version = 13000;
  return Success;
}

FAKE_EXPORT CUresult cuGetErrorName(CUresult r, const char **name) {
  switch (r) {
  case Success:
    *name = "CUDA_SUCCESS";
    return Success;
  case InvalidValue:
    *name = "CUDA_ERROR_INVALID_VALUE";
    return Success;
  case OutOfMemory:
    *name = "CUDA_ERROR_OUT_OF_MEMORY";
    return Success;
  case InvalidPtx:
    *name = "CUDA_ERROR_INVALID_PTX";
    return Success;
  case NotFound:
    *name = "CUDA_ERROR_NOT_FOUND";
    return Success;
  case IllegalAddress:
    *name = "CUDA_ERROR_ILLEGAL_ADDRESS";
    return Success;
  default:
    // Left to the runtime's own table.
    *name = nullptr;
    return InvalidValue;
  }
}

FAKE_EXPORT CUresult cuGetErrorString(CUresult r, const char **text) {
  *text = "reported by the fake CUDA driver";
  return Success;
}

FAKE_EXPORT CUresult cuDeviceGetCount(int *count) {
  if (!state().initialized)
    return NotInitialized;
  *count = deviceCount();
  return Success;
}

FAKE_EXPORT CUresult cuDeviceGet(int *device, int ordinal) {
  if (!state().initialized)
    return NotInitialized;
  if (ordinal < 0 || ordinal >= deviceCount() || ordinal >= 16)
    return InvalidDevice;
  *device = ordinal;
  return Success;
}

FAKE_EXPORT CUresult cuDeviceGetName(char *name, int length, int device) {
  if (length <= 0)
    return InvalidValue;
  std::snprintf(name, length, "clusopt fake GPU %d", device);
  return Success;
}

FAKE_EXPORT CUresult cuDeviceGetAttribute(int *value, int attribute, int) {
  int sm = envInt("CLUSOPT_FAKE_CUDA_SM", 90);
  if (attribute == 75)
    *value = sm / 10;
  else if (attribute == 76)
    *value = sm % 10;
  else
    return InvalidValue;
  return Success;
}

FAKE_EXPORT CUresult cuDevicePrimaryCtxRetain(void **context, int device) {
  if (device < 0 || device >= 16)
    return InvalidDevice;
  *context = &state().contexts[device];
  return Success;
}

FAKE_EXPORT CUresult cuCtxGetCurrent(void **context) {
  *context = currentContext;
  return Success;
}

FAKE_EXPORT CUresult cuCtxSetCurrent(void *context) {
  currentContext = context;
  return Success;
}

FAKE_EXPORT CUresult cuCtxSynchronize() { return ready(); }

FAKE_EXPORT CUresult cuModuleLoadDataEx(void **module, const void *image,
                                        unsigned n, int *options,
                                        void **values) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  if (!module || !image)
    return InvalidValue;
  const char *text = static_cast<const char *>(image);
  if (text[0] == 0x7f && text[1] == 'E' && text[2] == 'L' && text[3] == 'F') {
    writeJitLog(n, options, values, "fake driver: PTX only, not cubins");
    return NoBinaryForGpu;
  }
  if (envInt("CLUSOPT_FAKE_CUDA_JIT_FAIL", 0)) {
    writeJitLog(n, options, values, "fake JIT: failing as asked");
    return InvalidPtx;
  }
  if (!std::strstr(text, ".version")) {
    writeJitLog(n, options, values, "fake JIT: not PTX (no .version)");
    return InvalidPtx;
  }
  auto *m = new Module();
  for (const char *at = text; (at = std::strstr(at, ".entry"));) {
    at += 6;
    while (*at == ' ' || *at == '\t')
      ++at;
    const char *end = at;
    while (*end && *end != '(' && *end != ' ' && *end != '\n')
      ++end;
    m->entries.emplace_back(at, end);
  }
  s.modules.insert(m);
  *module = m;
  return Success;
}

FAKE_EXPORT CUresult cuModuleUnload(void *module) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto *m = static_cast<Module *>(module);
  if (!s.modules.erase(m))
    return InvalidHandle;
  for (std::string *f : m->functions) {
    s.functions.erase(f);
    delete f;
  }
  delete m;
  return Success;
}

FAKE_EXPORT CUresult cuModuleGetFunction(void **fn, void *module,
                                         const char *name) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  auto *m = static_cast<Module *>(module);
  if (!s.modules.count(m))
    return InvalidHandle;
  if (std::find(m->entries.begin(), m->entries.end(), name) == m->entries.end())
    return NotFound;
  auto *f = new std::string(name);
  m->functions.push_back(f);
  s.functions.insert(f);
  *fn = f;
  return Success;
}

FAKE_EXPORT CUresult cuLaunchKernel(void *fn, unsigned gx, unsigned gy,
                                    unsigned gz, unsigned bx, unsigned by,
                                    unsigned bz, unsigned, void *,
                                    void **params, void **) {
  return launch(fn, gx, gy, gz, bx, by, bz, params);
}

#ifndef CLUSOPT_FAKE_CUDA_OLD
// CUlaunchConfig and CUlaunchAttribute (runtime/cuda/CudaDriver.cpp).
struct FakeLaunchAttribute {
  int id;
  char pad[4];
  unsigned value[16];
};
struct FakeLaunchConfig {
  unsigned grid[3], block[3], sharedMemBytes;
  void *stream;
  FakeLaunchAttribute *attrs;
  unsigned numAttrs;
};

FAKE_EXPORT CUresult cuLaunchKernelEx(const FakeLaunchConfig *config, void *fn,
                                      void **params, void **) {
  for (unsigned i = 0; i < config->numAttrs; ++i) {
    const FakeLaunchAttribute &a = config->attrs[i];
    if (a.id != 4) // cluster dimension
      return InvalidValue;
    for (int d = 0; d < 3; ++d)
      if (!a.value[d] || config->grid[d] % a.value[d] != 0 || a.value[d] > 8)
        return InvalidClusterSize;
  }
  return launch(fn, config->grid[0], config->grid[1], config->grid[2],
                config->block[0], config->block[1], config->block[2], params);
}

FAKE_EXPORT CUresult cuPointerGetAttribute(void *data, int attribute,
                                           DevicePtr ptr) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (attribute != 2) // memory type
    return InvalidValue;
  if (inAllocation(s, ptr, 1)) {
    *static_cast<unsigned *>(data) = 2; // device
    return Success;
  }
  if (s.registered.count(ptr)) {
    *static_cast<unsigned *>(data) = 1; // host
    return Success;
  }
  return InvalidValue;
}
#endif

FAKE_EXPORT CUresult cuMemAlloc_v2(DevicePtr *ptr, size_t bytes) {
  return allocate(ptr, bytes);
}

FAKE_EXPORT CUresult cuMemAllocManaged(DevicePtr *ptr, size_t bytes, unsigned) {
  return allocate(ptr, bytes);
}

FAKE_EXPORT CUresult cuMemFree_v2(DevicePtr ptr) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  if (!s.allocations.erase(ptr))
    return InvalidValue;
  std::free(reinterpret_cast<void *>(ptr));
  return Success;
}

FAKE_EXPORT CUresult cuMemcpyHtoD_v2(DevicePtr dst, const void *src,
                                     size_t bytes) {
  return copy(dst, true, reinterpret_cast<uintptr_t>(src), false, bytes);
}

FAKE_EXPORT CUresult cuMemcpyDtoH_v2(void *dst, DevicePtr src, size_t bytes) {
  return copy(reinterpret_cast<uintptr_t>(dst), false, src, true, bytes);
}

FAKE_EXPORT CUresult cuMemcpyDtoD_v2(DevicePtr dst, DevicePtr src,
                                     size_t bytes) {
  return copy(dst, true, src, true, bytes);
}

FAKE_EXPORT CUresult cuMemcpyAsync(DevicePtr dst, DevicePtr src, size_t bytes,
                                   void *) {
  // Unified addressing: either side may be host memory.
  return copy(dst, false, src, false, bytes);
}

FAKE_EXPORT CUresult cuMemsetD8Async(DevicePtr dst, unsigned char value,
                                     size_t count, void *) {
  return fill(dst, value, count);
}

FAKE_EXPORT CUresult cuMemsetD16Async(DevicePtr dst, unsigned short value,
                                      size_t count, void *) {
  return fill(dst, value, count);
}

FAKE_EXPORT CUresult cuMemsetD32Async(DevicePtr dst, unsigned value,
                                      size_t count, void *) {
  return fill(dst, value, count);
}

FAKE_EXPORT CUresult cuMemHostRegister_v2(void *ptr, size_t bytes, unsigned) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  if (!ptr || !bytes)
    return InvalidValue;
  s.registered[reinterpret_cast<uintptr_t>(ptr)] = bytes;
  return Success;
}

FAKE_EXPORT CUresult cuMemHostUnregister(void *ptr) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  return s.registered.erase(reinterpret_cast<uintptr_t>(ptr))
             ? Success
             : HostMemoryNotRegistered;
}

FAKE_EXPORT CUresult cuStreamCreate(void **stream, unsigned) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  *stream = new char;
  s.streams.insert(*stream);
  return Success;
}

FAKE_EXPORT CUresult cuStreamDestroy_v2(void *stream) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.streams.erase(stream))
    return InvalidHandle;
  delete static_cast<char *>(stream);
  return Success;
}

FAKE_EXPORT CUresult cuStreamSynchronize(void *stream) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  return !stream || s.streams.count(stream) ? Success : InvalidHandle;
}

FAKE_EXPORT CUresult cuStreamWaitEvent(void *stream, void *event, unsigned) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if ((stream && !s.streams.count(stream)) ||
      !s.events.count(static_cast<Event *>(event)))
    return InvalidHandle;
  return Success;
}

FAKE_EXPORT CUresult cuEventCreate(void **event, unsigned flags) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (CUresult r = ready())
    return r;
  auto *e = new Event();
  e->timing = !(flags & 0x2);
  s.events.insert(e);
  *event = e;
  return Success;
}

FAKE_EXPORT CUresult cuEventDestroy_v2(void *event) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto *e = static_cast<Event *>(event);
  if (!s.events.erase(e))
    return InvalidHandle;
  delete e;
  return Success;
}

FAKE_EXPORT CUresult cuEventRecord(void *event, void *stream) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto *e = static_cast<Event *>(event);
  if (!s.events.count(e) || (stream && !s.streams.count(stream)))
    return InvalidHandle;
  e->recorded = true;
  e->at = std::chrono::steady_clock::now();
  return Success;
}

FAKE_EXPORT CUresult cuEventSynchronize(void *event) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.events.count(static_cast<Event *>(event)) ? Success : InvalidHandle;
}

// Only the plain name (drivers before CUDA 12.8), so the runtime's fallback
// from cuEventElapsedTime_v2 is exercised.
FAKE_EXPORT CUresult cuEventElapsedTime(float *ms, void *start, void *end) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto *a = static_cast<Event *>(start), *b = static_cast<Event *>(end);
  if (!s.events.count(a) || !s.events.count(b) || !a->timing || !b->timing)
    return InvalidHandle;
  if (!a->recorded || !b->recorded)
    return NotReady;
  *ms = std::chrono::duration<float, std::milli>(b->at - a->at).count();
  return Success;
}

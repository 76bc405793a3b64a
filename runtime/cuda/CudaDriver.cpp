//===- CudaDriver.cpp - The CUDA driver API, loaded at run time -----------===//

#include "runtime/cuda/CudaDriver.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>
#include <initializer_list>
#include <type_traits>

using namespace clusopt::runtime::cuda;
using llvm::Error;
using llvm::Expected;
using llvm::Twine;

namespace {

// The few values of the driver's enums that clusopt uses (cuda.h, CUDA 12
// and 13; they are part of the driver's stable ABI).
using CUresult = int;
constexpr CUresult kSuccess = 0;
constexpr CUresult kErrorInvalidValue = 1;
constexpr CUresult kErrorStubLibrary = 34;
constexpr CUresult kErrorNoDevice = 100;
constexpr int kAttributeComputeCapabilityMajor = 75;
constexpr int kAttributeComputeCapabilityMinor = 76;
constexpr unsigned kStreamNonBlocking = 0x1;
constexpr unsigned kEventDefault = 0x0;
constexpr unsigned kEventDisableTiming = 0x2;
constexpr unsigned kMemAttachGlobal = 0x1;
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSizeBytes = 6;
constexpr int kJitOptimizationLevel = 7;
constexpr int kPointerAttributeMemoryType = 2;
constexpr unsigned kMemoryTypeDevice = 0x2;
constexpr unsigned kMemoryTypeUnified = 0x4;
constexpr int kLaunchAttributeClusterDimension = 4;

/// CUlaunchAttribute: an 4-byte id, padding, and a 64-byte value union.
struct LaunchAttribute {
  int id;
  char pad[4];
  union {
    char bytes[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};
static_assert(sizeof(LaunchAttribute) == 72, "CUlaunchAttribute layout");

/// CUlaunchConfig.
struct LaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  void *hStream;
  LaunchAttribute *attrs;
  unsigned numAttrs;
};
static_assert(sizeof(LaunchConfig) == 56, "CUlaunchConfig layout");

/// Names of the results clusopt is likely to meet, for when the driver
/// cannot name them itself (the stub library answers every call, including
/// cuGetErrorName, with CUDA_ERROR_STUB_LIBRARY).
const char *knownResultName(CUresult result) {
  switch (result) {
  case 1:
    return "CUDA_ERROR_INVALID_VALUE";
  case 2:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case 3:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case 4:
    return "CUDA_ERROR_DEINITIALIZED";
  case 34:
    return "CUDA_ERROR_STUB_LIBRARY";
  case 35:
    return "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case 46:
    return "CUDA_ERROR_DEVICE_UNAVAILABLE";
  case 100:
    return "CUDA_ERROR_NO_DEVICE";
  case 101:
    return "CUDA_ERROR_INVALID_DEVICE";
  case 200:
    return "CUDA_ERROR_INVALID_IMAGE";
  case 201:
    return "CUDA_ERROR_INVALID_CONTEXT";
  case 209:
    return "CUDA_ERROR_NO_BINARY_FOR_GPU";
  case 218:
    return "CUDA_ERROR_INVALID_PTX";
  case 222:
    return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
  case 400:
    return "CUDA_ERROR_INVALID_HANDLE";
  case 500:
    return "CUDA_ERROR_NOT_FOUND";
  case 700:
    return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case 701:
    return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
  case 719:
    return "CUDA_ERROR_LAUNCH_FAILED";
  case 803:
    return "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH";
  case 999:
    return "CUDA_ERROR_UNKNOWN";
  default:
    return nullptr;
  }
}

bool validDim(int64_t v) { return v >= 1 && v <= int64_t(UINT32_MAX); }

bool validDims(Dim3 d) {
  return validDim(d.x) && validDim(d.y) && validDim(d.z);
}

std::string dimString(Dim3 d) {
  return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " +
         std::to_string(d.z) + ")";
}

Error fail(const Twine &message) { return llvm::createStringError(message); }

} // namespace

/// The driver entry points, by the names libcuda.so.1 exports (the _v2
/// names are what cuda.h maps the plain ones to).
struct Driver::Api {
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDriverGetVersion)(int *) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char **) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(int *, int) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int, int) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int, int) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(void **, int) = nullptr;
  CUresult (*cuCtxGetCurrent)(void **) = nullptr;
  CUresult (*cuCtxSetCurrent)(void *) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuModuleLoadDataEx)(void **, const void *, unsigned, int *,
                                 void **) = nullptr;
  CUresult (*cuModuleUnload)(void *) = nullptr;
  CUresult (*cuModuleGetFunction)(void **, void *, const char *) = nullptr;
  CUresult (*cuLaunchKernel)(void *, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, void *, void **,
                             void **) = nullptr;
  // Optional: only cluster launches need it.
  CUresult (*cuLaunchKernelEx)(const LaunchConfig *, void *, void **,
                               void **) = nullptr;
  CUresult (*cuMemAlloc)(DevicePtr *, size_t) = nullptr;
  CUresult (*cuMemAllocManaged)(DevicePtr *, size_t, unsigned) = nullptr;
  CUresult (*cuMemFree)(DevicePtr) = nullptr;
  CUresult (*cuMemcpyHtoD)(DevicePtr, const void *, size_t) = nullptr;
  CUresult (*cuMemcpyDtoH)(void *, DevicePtr, size_t) = nullptr;
  CUresult (*cuMemcpyDtoD)(DevicePtr, DevicePtr, size_t) = nullptr;
  CUresult (*cuMemcpyAsync)(DevicePtr, DevicePtr, size_t, void *) = nullptr;
  CUresult (*cuMemsetD8Async)(DevicePtr, unsigned char, size_t,
                              void *) = nullptr;
  CUresult (*cuMemsetD16Async)(DevicePtr, unsigned short, size_t,
                               void *) = nullptr;
  CUresult (*cuMemsetD32Async)(DevicePtr, unsigned, size_t, void *) = nullptr;
  CUresult (*cuMemHostRegister)(void *, size_t, unsigned) = nullptr;
  CUresult (*cuMemHostUnregister)(void *) = nullptr;
  CUresult (*cuPointerGetAttribute)(void *, int, DevicePtr) = nullptr;
  CUresult (*cuStreamCreate)(void **, unsigned) = nullptr;
  CUresult (*cuStreamDestroy)(void *) = nullptr;
  CUresult (*cuStreamSynchronize)(void *) = nullptr;
  CUresult (*cuStreamWaitEvent)(void *, void *, unsigned) = nullptr;
  CUresult (*cuEventCreate)(void **, unsigned) = nullptr;
  CUresult (*cuEventDestroy)(void *) = nullptr;
  CUresult (*cuEventRecord)(void *, void *) = nullptr;
  CUresult (*cuEventSynchronize)(void *) = nullptr;
  CUresult (*cuEventElapsedTime)(float *, void *, void *) = nullptr;
};

Driver &Driver::get() {
  // Never destroyed: kernel libraries unload their modules from global
  // destructors, which may run after this file's static destructors.
  static Driver *driver = [] {
    auto *d = new Driver();
    d->load();
    return d;
  }();
  return *driver;
}

Driver::Driver() : api_(std::make_unique<Api>()) {}

void Driver::load() {
  const char *env = std::getenv("CLUSOPT_LIBCUDA");
  path_ = env && *env ? env : "libcuda.so.1";
  dlerror();
  handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char *e = dlerror();
    std::string why = e ? e : "unknown error";
    if (why.find("No such file") != std::string::npos)
      reason_ = path_ + " not found (no NVIDIA driver): " + why;
    else
      reason_ = "cannot load " + path_ + ": " + why;
    return;
  }

  std::vector<std::string> missing;
  auto resolve = [&](auto &fn, std::initializer_list<const char *> names,
                     bool required = true) {
    for (const char *name : names)
      if (void *p = dlsym(handle_, name)) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
        return;
      }
    if (required)
      missing.push_back(*names.begin());
  };
  Api &a = *api_;
  resolve(a.cuInit, {"cuInit"});
  resolve(a.cuDriverGetVersion, {"cuDriverGetVersion"});
  resolve(a.cuGetErrorName, {"cuGetErrorName"});
  resolve(a.cuGetErrorString, {"cuGetErrorString"});
  resolve(a.cuDeviceGetCount, {"cuDeviceGetCount"});
  resolve(a.cuDeviceGet, {"cuDeviceGet"});
  resolve(a.cuDeviceGetName, {"cuDeviceGetName"});
  resolve(a.cuDeviceGetAttribute, {"cuDeviceGetAttribute"});
  resolve(a.cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"});
  resolve(a.cuCtxGetCurrent, {"cuCtxGetCurrent"});
  resolve(a.cuCtxSetCurrent, {"cuCtxSetCurrent"});
  resolve(a.cuCtxSynchronize, {"cuCtxSynchronize"});
  resolve(a.cuModuleLoadDataEx, {"cuModuleLoadDataEx"});
  resolve(a.cuModuleUnload, {"cuModuleUnload"});
  resolve(a.cuModuleGetFunction, {"cuModuleGetFunction"});
  resolve(a.cuLaunchKernel, {"cuLaunchKernel"});
  resolve(a.cuLaunchKernelEx, {"cuLaunchKernelEx"}, /*required=*/false);
  resolve(a.cuMemAlloc, {"cuMemAlloc_v2"});
  resolve(a.cuMemAllocManaged, {"cuMemAllocManaged"});
  resolve(a.cuMemFree, {"cuMemFree_v2"});
  resolve(a.cuMemcpyHtoD, {"cuMemcpyHtoD_v2"});
  resolve(a.cuMemcpyDtoH, {"cuMemcpyDtoH_v2"});
  resolve(a.cuMemcpyDtoD, {"cuMemcpyDtoD_v2"});
  resolve(a.cuMemcpyAsync, {"cuMemcpyAsync"});
  resolve(a.cuMemsetD8Async, {"cuMemsetD8Async"});
  resolve(a.cuMemsetD16Async, {"cuMemsetD16Async"});
  resolve(a.cuMemsetD32Async, {"cuMemsetD32Async"});
  resolve(a.cuMemHostRegister, {"cuMemHostRegister_v2"});
  resolve(a.cuMemHostUnregister, {"cuMemHostUnregister"});
  resolve(a.cuPointerGetAttribute, {"cuPointerGetAttribute"});
  resolve(a.cuStreamCreate, {"cuStreamCreate"});
  resolve(a.cuStreamDestroy, {"cuStreamDestroy_v2"});
  resolve(a.cuStreamSynchronize, {"cuStreamSynchronize"});
  resolve(a.cuStreamWaitEvent, {"cuStreamWaitEvent"});
  resolve(a.cuEventCreate, {"cuEventCreate"});
  resolve(a.cuEventDestroy, {"cuEventDestroy_v2"});
  resolve(a.cuEventRecord, {"cuEventRecord"});
  resolve(a.cuEventSynchronize, {"cuEventSynchronize"});
  // CUDA 12.8 added the _v2 (cuda.h maps the plain name to it since 13.0);
  // older drivers have only the plain one.
  resolve(a.cuEventElapsedTime,
          {"cuEventElapsedTime_v2", "cuEventElapsedTime"});
  if (!missing.empty()) {
    reason_ = path_ + " lacks " + llvm::join(missing, ", ") +
              " (a CUDA driver older than 12.0?)";
    return;
  }

  if (a.cuDriverGetVersion(&driverVersion_) != kSuccess)
    driverVersion_ = 0;
  CUresult r = a.cuInit(0);
  if (r == kErrorStubLibrary) {
    reason_ = "the CUDA driver is a stub library (no GPU): " + path_ +
              " (cuInit: " + describe(r) + ")";
    return;
  }
  if (r == kErrorNoDevice) {
    reason_ = "no CUDA device (cuInit: " + describe(r) + ")";
    return;
  }
  if (r != kSuccess) {
    reason_ = "cuInit failed: " + describe(r);
    return;
  }
  int count = 0;
  if ((r = a.cuDeviceGetCount(&count)) != kSuccess) {
    reason_ = "cuDeviceGetCount failed: " + describe(r);
    return;
  }
  if (count <= 0) {
    reason_ = "no CUDA device";
    return;
  }
  for (int i = 0; i < count; ++i) {
    int dev = 0, major = 0, minor = 0;
    char name[256] = {};
    if ((r = a.cuDeviceGet(&dev, i)) != kSuccess ||
        (r = a.cuDeviceGetName(name, sizeof(name) - 1, dev)) != kSuccess ||
        (r = a.cuDeviceGetAttribute(&major, kAttributeComputeCapabilityMajor,
                                    dev)) != kSuccess ||
        (r = a.cuDeviceGetAttribute(&minor, kAttributeComputeCapabilityMinor,
                                    dev)) != kSuccess) {
      reason_ =
          "cannot query CUDA device " + std::to_string(i) + ": " + describe(r);
      devices_.clear();
      return;
    }
    devices_.push_back({name, major * 10 + minor});
  }
  contexts_.assign(count, nullptr);
}

Error Driver::checkAvailable() const {
  if (available())
    return Error::success();
  return fail("no usable GPU: " + reason_);
}

const DeviceInfo &Driver::deviceInfo() const {
  static const DeviceInfo none;
  int d = device_;
  return available() && d < deviceCount() ? devices_[d] : none;
}

Error Driver::setDevice(int ordinal) {
  if (Error err = checkAvailable())
    return err;
  if (ordinal < 0 || ordinal >= deviceCount())
    return fail("no CUDA device " + Twine(ordinal) + " (there are " +
                Twine(deviceCount()) + ")");
  device_ = ordinal;
  return Error::success();
}

std::string Driver::describe(int result) const {
  const char *name = nullptr, *text = nullptr;
  if (api_->cuGetErrorName && api_->cuGetErrorName(result, &name) != kSuccess)
    name = nullptr;
  if (api_->cuGetErrorString &&
      api_->cuGetErrorString(result, &text) != kSuccess)
    text = nullptr;
  if (!name)
    name = knownResultName(result);
  std::string s = name ? name : "CUDA error " + std::to_string(result);
  if (text && *text)
    s += std::string(" (") + text + ")";
  return s;
}

Error Driver::check(int result, const char *call) const {
  if (result == kSuccess)
    return Error::success();
  return fail(Twine(call) + " failed: " + describe(result));
}

Error Driver::enter() {
  if (Error err = checkAvailable())
    return err;
  int ordinal = device_;
  void *context = nullptr;
  {
    std::lock_guard<std::mutex> lock(contextMutex_);
    if (!contexts_[ordinal]) {
      int dev = 0;
      if (Error err = check(api_->cuDeviceGet(&dev, ordinal), "cuDeviceGet"))
        return err;
      if (Error err = check(api_->cuDevicePrimaryCtxRetain(&context, dev),
                            "cuDevicePrimaryCtxRetain"))
        return err;
      contexts_[ordinal] = context;
    }
    context = contexts_[ordinal];
  }
  void *current = nullptr;
  if (api_->cuCtxGetCurrent(&current) == kSuccess && current == context)
    return Error::success();
  return check(api_->cuCtxSetCurrent(context), "cuCtxSetCurrent");
}

Expected<DevicePtr> Driver::alloc(size_t bytes) {
  if (Error err = enter())
    return std::move(err);
  DevicePtr ptr = 0;
  if (Error err = check(api_->cuMemAlloc(&ptr, std::max<size_t>(bytes, 1)),
                        "cuMemAlloc_v2"))
    return fail(llvm::toString(std::move(err)) + " (" + Twine(bytes) +
                " bytes)");
  return ptr;
}

Expected<DevicePtr> Driver::allocManaged(size_t bytes) {
  if (Error err = enter())
    return std::move(err);
  DevicePtr ptr = 0;
  if (Error err = check(api_->cuMemAllocManaged(
                            &ptr, std::max<size_t>(bytes, 1), kMemAttachGlobal),
                        "cuMemAllocManaged"))
    return fail(llvm::toString(std::move(err)) + " (" + Twine(bytes) +
                " bytes)");
  return ptr;
}

Error Driver::free(DevicePtr ptr) {
  if (!ptr)
    return Error::success();
  if (Error err = enter())
    return err;
  return check(api_->cuMemFree(ptr), "cuMemFree_v2");
}

Error Driver::copyToDevice(DevicePtr dst, const void *src, size_t bytes) {
  if (Error err = enter())
    return err;
  if (!bytes)
    return Error::success();
  return check(api_->cuMemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD_v2");
}

Error Driver::copyToHost(void *dst, DevicePtr src, size_t bytes) {
  if (Error err = enter())
    return err;
  if (!bytes)
    return Error::success();
  return check(api_->cuMemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH_v2");
}

Error Driver::copyDeviceToDevice(DevicePtr dst, DevicePtr src, size_t bytes) {
  if (Error err = enter())
    return err;
  if (!bytes)
    return Error::success();
  return check(api_->cuMemcpyDtoD(dst, src, bytes), "cuMemcpyDtoD_v2");
}

Error Driver::copyAsync(DevicePtr dst, DevicePtr src, size_t bytes,
                        Stream stream) {
  if (Error err = enter())
    return err;
  if (!bytes)
    return Error::success();
  return check(api_->cuMemcpyAsync(dst, src, bytes, stream), "cuMemcpyAsync");
}

Error Driver::memsetAsync(DevicePtr dst, uint32_t value, size_t count,
                          unsigned elementBytes, Stream stream) {
  if (Error err = enter())
    return err;
  if (!count)
    return Error::success();
  switch (elementBytes) {
  case 1:
    return check(api_->cuMemsetD8Async(dst, value, count, stream),
                 "cuMemsetD8Async");
  case 2:
    return check(api_->cuMemsetD16Async(dst, value, count, stream),
                 "cuMemsetD16Async");
  case 4:
    return check(api_->cuMemsetD32Async(dst, value, count, stream),
                 "cuMemsetD32Async");
  default:
    return fail("memset of " + Twine(elementBytes) +
                "-byte elements (1, 2 or 4)");
  }
}

Expected<bool> Driver::isDevicePointer(const void *ptr) {
  if (Error err = enter())
    return std::move(err);
  if (!ptr)
    return false;
  unsigned type = 0;
  CUresult r = api_->cuPointerGetAttribute(&type, kPointerAttributeMemoryType,
                                           reinterpret_cast<uintptr_t>(ptr));
  // Memory the driver does not know (malloc'ed) is an invalid value to it.
  if (r == kErrorInvalidValue)
    return false;
  if (Error err = check(r, "cuPointerGetAttribute"))
    return std::move(err);
  return type == kMemoryTypeDevice || type == kMemoryTypeUnified;
}

Error Driver::hostRegister(void *ptr, size_t bytes) {
  if (Error err = enter())
    return err;
  return check(api_->cuMemHostRegister(ptr, bytes, 0), "cuMemHostRegister_v2");
}

Error Driver::hostUnregister(void *ptr) {
  if (Error err = enter())
    return err;
  return check(api_->cuMemHostUnregister(ptr), "cuMemHostUnregister");
}

Expected<Module> Driver::loadModule(const void *image, int jitOptLevel) {
  if (Error err = enter())
    return std::move(err);
  if (!image)
    return fail("no module image (null)");
  // The JIT's error log says what is wrong with PTX; the result code alone
  // does not.
  char log[8192] = {};
  int options[3];
  void *values[3];
  unsigned n = 0;
  options[n] = kJitErrorLogBuffer;
  values[n++] = log;
  options[n] = kJitErrorLogBufferSizeBytes;
  values[n++] = reinterpret_cast<void *>(uintptr_t(sizeof(log) - 1));
  if (jitOptLevel >= 0) {
    options[n] = kJitOptimizationLevel;
    values[n++] = reinterpret_cast<void *>(uintptr_t(std::min(jitOptLevel, 4)));
  }
  Module module = nullptr;
  CUresult r = api_->cuModuleLoadDataEx(&module, image, n, options, values);
  if (r != kSuccess) {
    std::string message = "cuModuleLoadDataEx failed: " + describe(r);
    llvm::StringRef jitLog = llvm::StringRef(log).trim();
    if (!jitLog.empty())
      message += "; JIT log: " + jitLog.str();
    return fail(message);
  }
  return module;
}

Error Driver::unloadModule(Module module) {
  // Null is what a failed load returned; that failure was reported.
  if (!module)
    return Error::success();
  if (Error err = enter())
    return err;
  return check(api_->cuModuleUnload(module), "cuModuleUnload");
}

Expected<Function> Driver::getFunction(Module module, const char *name) {
  if (Error err = enter())
    return std::move(err);
  if (!module || !name)
    return fail(Twine("cuModuleGetFunction: null ") +
                (module ? "name" : "module (did the module load fail?)"));
  Function fn = nullptr;
  if (Error err = check(api_->cuModuleGetFunction(&fn, module, name),
                        "cuModuleGetFunction"))
    return fail(llvm::toString(std::move(err)) + " for '" + name + "'");
  return fn;
}

Error Driver::launch(Function fn, Dim3 grid, Dim3 block, unsigned sharedBytes,
                     Stream stream, void **params, void **extra) {
  if (Error err = enter())
    return err;
  if (!fn)
    return fail("cuLaunchKernel: null function (did loading it fail?)");
  if (!validDims(grid) || !validDims(block))
    return fail("cuLaunchKernel: grid " + dimString(grid) + " or block " +
                dimString(block) + " out of range [1, 2^32)");
  return check(api_->cuLaunchKernel(fn, grid.x, grid.y, grid.z, block.x,
                                    block.y, block.z, sharedBytes, stream,
                                    params, extra),
               "cuLaunchKernel");
}

Error Driver::launchCluster(Function fn, Dim3 cluster, Dim3 grid, Dim3 block,
                            unsigned sharedBytes, Stream stream, void **params,
                            void **extra) {
  if (Error err = enter())
    return err;
  if (!api_->cuLaunchKernelEx)
    return fail(path_ + " lacks cuLaunchKernelEx (cluster launches need "
                        "CUDA 11.8 or later)");
  if (!fn)
    return fail("cuLaunchKernelEx: null function (did loading it fail?)");
  if (!validDims(cluster) || !validDims(grid) || !validDims(block))
    return fail("cuLaunchKernelEx: cluster " + dimString(cluster) + ", grid " +
                dimString(grid) + " or block " + dimString(block) +
                " out of range [1, 2^32)");
  LaunchAttribute attr = {};
  attr.id = kLaunchAttributeClusterDimension;
  attr.value.clusterDim = {unsigned(cluster.x), unsigned(cluster.y),
                           unsigned(cluster.z)};
  LaunchConfig config = {};
  config.gridDimX = grid.x;
  config.gridDimY = grid.y;
  config.gridDimZ = grid.z;
  config.blockDimX = block.x;
  config.blockDimY = block.y;
  config.blockDimZ = block.z;
  config.sharedMemBytes = sharedBytes;
  config.hStream = stream;
  config.attrs = &attr;
  config.numAttrs = 1;
  return check(api_->cuLaunchKernelEx(&config, fn, params, extra),
               "cuLaunchKernelEx");
}

Expected<Stream> Driver::createStream() {
  if (Error err = enter())
    return std::move(err);
  Stream stream = nullptr;
  if (Error err = check(api_->cuStreamCreate(&stream, kStreamNonBlocking),
                        "cuStreamCreate"))
    return std::move(err);
  return stream;
}

Error Driver::destroyStream(Stream stream) {
  if (Error err = enter())
    return err;
  if (!stream)
    return fail("cuStreamDestroy_v2: null stream");
  return check(api_->cuStreamDestroy(stream), "cuStreamDestroy_v2");
}

Error Driver::synchronize(Stream stream) {
  if (Error err = enter())
    return err;
  return check(api_->cuStreamSynchronize(stream), "cuStreamSynchronize");
}

Error Driver::synchronize() {
  if (Error err = enter())
    return err;
  return check(api_->cuCtxSynchronize(), "cuCtxSynchronize");
}

Error Driver::streamWaitEvent(Stream stream, Event event) {
  if (Error err = enter())
    return err;
  if (!event)
    return fail("cuStreamWaitEvent: null event");
  return check(api_->cuStreamWaitEvent(stream, event, 0), "cuStreamWaitEvent");
}

Expected<Event> Driver::createEvent(bool timing) {
  if (Error err = enter())
    return std::move(err);
  Event event = nullptr;
  if (Error err =
          check(api_->cuEventCreate(&event, timing ? kEventDefault
                                                   : kEventDisableTiming),
                "cuEventCreate"))
    return std::move(err);
  return event;
}

Error Driver::destroyEvent(Event event) {
  if (Error err = enter())
    return err;
  if (!event)
    return fail("cuEventDestroy_v2: null event");
  return check(api_->cuEventDestroy(event), "cuEventDestroy_v2");
}

Error Driver::recordEvent(Event event, Stream stream) {
  if (Error err = enter())
    return err;
  if (!event)
    return fail("cuEventRecord: null event");
  return check(api_->cuEventRecord(event, stream), "cuEventRecord");
}

Error Driver::synchronizeEvent(Event event) {
  if (Error err = enter())
    return err;
  if (!event)
    return fail("cuEventSynchronize: null event");
  return check(api_->cuEventSynchronize(event), "cuEventSynchronize");
}

Expected<float> Driver::elapsedMs(Event start, Event end) {
  if (Error err = enter())
    return std::move(err);
  if (!start || !end)
    return fail("cuEventElapsedTime: null event");
  float ms = 0;
  if (Error err = check(api_->cuEventElapsedTime(&ms, start, end),
                        "cuEventElapsedTime"))
    return std::move(err);
  return ms;
}

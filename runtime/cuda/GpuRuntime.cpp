//===- GpuRuntime.cpp - MLIR's mgpu* ABI and clusopt's C API over CUDA ----===//
//
// Every function here catches its failure: the generated host code that
// calls the mgpu* functions has no error channel, and a global constructor
// calling mgpuModuleLoad at dlopen time must not take the process down on a
// machine without a GPU. Errors are recorded instead (see GpuRuntime.h).
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/GpuRuntime.h"
#include "runtime/cuda/CudaDriver.h"

#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

using namespace clusopt::runtime::cuda;
using llvm::Twine;

namespace {

struct ErrorState {
  std::mutex mutex;
  std::string first;
  size_t later = 0;
};

/// Never destroyed, like the driver: kernel libraries' destructors may
/// record errors during exit.
ErrorState &errorState() {
  static auto *state = new ErrorState();
  return *state;
}

void record(const char *function, const std::string &message) {
  std::string text = std::string(function) + ": " + message;
  const char *debug = std::getenv("CLUSOPT_GPU_DEBUG");
  if (debug && *debug && std::strcmp(debug, "0") != 0)
    std::fprintf(stderr, "clusopt-gpu: %s\n", text.c_str());
  ErrorState &state = errorState();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.first.empty())
    state.first = std::move(text);
  else
    ++state.later;
}

/// Records `err` if it is one; returns whether it was.
bool failed(const char *function, llvm::Error err) {
  if (!err)
    return false;
  record(function, llvm::toString(std::move(err)));
  return true;
}

template <typename T>
T valueOr(const char *function, llvm::Expected<T> value, T fallback) {
  if (value)
    return *value;
  record(function, llvm::toString(value.takeError()));
  return fallback;
}

Driver &driver() { return Driver::get(); }

void *hostPointer(DevicePtr ptr) {
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}

DevicePtr devicePointer(const void *ptr) {
  return reinterpret_cast<uintptr_t>(ptr);
}

/// Copies `text` into `buf` of `n` bytes, NUL-terminated and truncated.
void copyOut(const std::string &text, char *buf, size_t n) {
  if (!buf || !n)
    return;
  size_t len = std::min(text.size(), n - 1);
  std::memcpy(buf, text.data(), len);
  buf[len] = '\0';
}

/// The dense extent in bytes and the start of a contiguous memref
/// descriptor, or null when it is not contiguous.
void *contiguousMemRef(int64_t rank, void *descriptor, int64_t elementBytes,
                       uint64_t &bytes) {
  if (!descriptor || rank < 0 || elementBytes <= 0)
    return nullptr;
  const int64_t *words = static_cast<const int64_t *>(descriptor);
  const int64_t *sizes = words + 3, *strides = words + 3 + rank;
  int64_t count = 1;
  for (int64_t d = rank - 1; d >= 0; --d) {
    if (sizes[d] < 0 || (sizes[d] > 1 && strides[d] != count))
      return nullptr;
    count *= sizes[d];
  }
  bytes = uint64_t(count) * uint64_t(elementBytes);
  auto *aligned = reinterpret_cast<char *>(static_cast<uintptr_t>(words[1]));
  return aligned + words[2] * elementBytes;
}

} // namespace

//===----------------------------------------------------------------------===//
// MLIR's CUDA runtime-wrapper ABI
//===----------------------------------------------------------------------===//

extern "C" {

void *mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  return valueOr<Module>("mgpuModuleLoad", driver().loadModule(data), nullptr);
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  return valueOr<Module>("mgpuModuleLoadJIT",
                         driver().loadModule(data, optLevel), nullptr);
}

void mgpuModuleUnload(void *module) {
  failed("mgpuModuleUnload", driver().unloadModule(module));
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  return valueOr<Function>("mgpuModuleGetFunction",
                           driver().getFunction(module, name), nullptr);
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  if (smem < 0) {
    record("mgpuLaunchKernel",
           "negative dynamic shared memory size " + std::to_string(smem));
    return;
  }
  failed("mgpuLaunchKernel",
         driver().launch(function, {gridX, gridY, gridZ},
                         {blockX, blockY, blockZ}, unsigned(smem), stream,
                         params, extra));
}

void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t smem, void *stream, void **params,
                             void **extra) {
  if (smem < 0) {
    record("mgpuLaunchClusterKernel",
           "negative dynamic shared memory size " + std::to_string(smem));
    return;
  }
  failed("mgpuLaunchClusterKernel",
         driver().launchCluster(function, {clusterX, clusterY, clusterZ},
                                {gridX, gridY, gridZ}, {blockX, blockY, blockZ},
                                unsigned(smem), stream, params, extra));
}

void *mgpuStreamCreate() {
  return valueOr<Stream>("mgpuStreamCreate", driver().createStream(), nullptr);
}

void mgpuStreamDestroy(void *stream) {
  failed("mgpuStreamDestroy", driver().destroyStream(stream));
}

void mgpuStreamSynchronize(void *stream) {
  failed("mgpuStreamSynchronize", driver().synchronize(stream));
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  failed("mgpuStreamWaitEvent", driver().streamWaitEvent(stream, event));
}

void *mgpuEventCreate() {
  return valueOr<Event>("mgpuEventCreate", driver().createEvent(false),
                        nullptr);
}

void mgpuEventDestroy(void *event) {
  failed("mgpuEventDestroy", driver().destroyEvent(event));
}

void mgpuEventSynchronize(void *event) {
  failed("mgpuEventSynchronize", driver().synchronizeEvent(event));
}

void mgpuEventRecord(void *event, void *stream) {
  failed("mgpuEventRecord", driver().recordEvent(event, stream));
}

void *mgpuMemAlloc(uint64_t sizeBytes, void * /*stream*/, bool isHostShared) {
  Driver &d = driver();
  return hostPointer(valueOr<DevicePtr>(
      "mgpuMemAlloc",
      isHostShared ? d.allocManaged(sizeBytes) : d.alloc(sizeBytes), 0));
}

void mgpuMemFree(void *ptr, void * /*stream*/) {
  // cuMemFree waits for work using the memory, so the stream is not needed.
  if (!ptr) {
    failed("mgpuMemFree", driver().checkAvailable());
    return;
  }
  failed("mgpuMemFree", driver().free(devicePointer(ptr)));
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream) {
  failed("mgpuMemcpy",
         driver().copyAsync(devicePointer(dst), devicePointer(src), sizeBytes,
                            stream));
}

void mgpuMemset32(void *dst, uint32_t value, size_t count, void *stream) {
  failed("mgpuMemset32",
         driver().memsetAsync(devicePointer(dst), value, count, 4, stream));
}

void mgpuMemset16(void *dst, uint16_t value, size_t count, void *stream) {
  failed("mgpuMemset16",
         driver().memsetAsync(devicePointer(dst), value, count, 2, stream));
}

void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  failed("mgpuMemHostRegister", driver().hostRegister(ptr, sizeBytes));
}

void mgpuMemHostUnregister(void *ptr) {
  failed("mgpuMemHostUnregister", driver().hostUnregister(ptr));
}

void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSizeBytes) {
  uint64_t bytes = 0;
  void *ptr = contiguousMemRef(rank, descriptor, elementSizeBytes, bytes);
  if (!ptr) {
    record("mgpuMemHostRegisterMemRef",
           "the memref is not contiguous (or the descriptor is null)");
    return;
  }
  failed("mgpuMemHostRegisterMemRef", driver().hostRegister(ptr, bytes));
}

void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSizeBytes) {
  uint64_t bytes = 0;
  void *ptr = contiguousMemRef(rank, descriptor, elementSizeBytes, bytes);
  if (!ptr) {
    record("mgpuMemHostUnregisterMemRef",
           "the memref is not contiguous (or the descriptor is null)");
    return;
  }
  failed("mgpuMemHostUnregisterMemRef", driver().hostUnregister(ptr));
}

void mgpuSetDefaultDevice(int32_t device) {
  failed("mgpuSetDefaultDevice", driver().setDevice(device));
}

//===----------------------------------------------------------------------===//
// clusopt's C API
//===----------------------------------------------------------------------===//

int clusopt_gpu_available(char *reason, size_t n) {
  Driver &d = driver();
  copyOut(d.unavailableReason().str(), reason, n);
  return d.available() ? 1 : 0;
}

const char *clusopt_gpu_device_name() {
  return driver().deviceInfo().name.c_str();
}

int clusopt_gpu_compute_capability() {
  return driver().deviceInfo().computeCapability;
}

int clusopt_gpu_device_count() {
  Driver &d = driver();
  return d.available() ? d.deviceCount() : 0;
}

int clusopt_gpu_driver_version() { return driver().driverVersion(); }

void *clusopt_gpu_alloc(size_t bytes) {
  return hostPointer(
      valueOr<DevicePtr>("clusopt_gpu_alloc", driver().alloc(bytes), 0));
}

void clusopt_gpu_free(void *ptr) {
  failed("clusopt_gpu_free", driver().free(devicePointer(ptr)));
}

int clusopt_gpu_copy_to_device(void *dst, const void *src, size_t bytes) {
  return failed("clusopt_gpu_copy_to_device",
                driver().copyToDevice(devicePointer(dst), src, bytes))
             ? -1
             : 0;
}

int clusopt_gpu_copy_to_host(void *dst, const void *src, size_t bytes) {
  return failed("clusopt_gpu_copy_to_host",
                driver().copyToHost(dst, devicePointer(src), bytes))
             ? -1
             : 0;
}

int clusopt_gpu_copy_device_to_device(void *dst, const void *src,
                                      size_t bytes) {
  return failed("clusopt_gpu_copy_device_to_device",
                driver().copyDeviceToDevice(devicePointer(dst),
                                            devicePointer(src), bytes))
             ? -1
             : 0;
}

int clusopt_gpu_is_device_pointer(const void *ptr) {
  Driver &d = driver();
  if (!d.available())
    return 0;
  llvm::Expected<bool> device = d.isDevicePointer(ptr);
  if (!device) {
    llvm::consumeError(device.takeError());
    return 0;
  }
  return *device ? 1 : 0;
}

int clusopt_gpu_synchronize() {
  return failed("clusopt_gpu_synchronize", driver().synchronize()) ? -1 : 0;
}

void *clusopt_gpu_event_create() {
  return valueOr<Event>("clusopt_gpu_event_create", driver().createEvent(true),
                        nullptr);
}

void clusopt_gpu_event_destroy(void *event) {
  if (event)
    failed("clusopt_gpu_event_destroy", driver().destroyEvent(event));
}

int clusopt_gpu_event_record(void *event, void *stream) {
  return failed("clusopt_gpu_event_record", driver().recordEvent(event, stream))
             ? -1
             : 0;
}

float clusopt_gpu_event_elapsed_ms(void *start, void *end) {
  return valueOr<float>("clusopt_gpu_event_elapsed_ms",
                        driver().elapsedMs(start, end), -1.0f);
}

int clusopt_gpu_take_error(char *buf, size_t n) {
  ErrorState &state = errorState();
  std::string text;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (state.first.empty())
      return 0;
    text = std::move(state.first);
    if (state.later)
      text += " (and " + std::to_string(state.later) + " later error" +
              (state.later == 1 ? ")" : "s)");
    state.first.clear();
    state.later = 0;
  }
  copyOut(text, buf, n);
  return 1;
}

} // extern "C"

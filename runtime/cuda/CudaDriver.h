//===- CudaDriver.h - The CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// clusopt needs no CUDA at build time: the driver (libcuda.so.1, installed
// with the NVIDIA kernel driver) is opened with dlopen on first use and its
// entry points are resolved by name. On a machine without a driver or
// without a GPU, `Driver::get().available()` is false with a reason, and
// every call returns an error; nothing aborts.
//
// The driver's own types are opaque pointers and integers here, so no CUDA
// header is needed either.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_CUDA_CUDADRIVER_H
#define CLUSOPT_RUNTIME_CUDA_CUDADRIVER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace clusopt::runtime::cuda {

/// CUmodule, CUfunction, CUstream, CUevent.
using Module = void *;
using Function = void *;
using Stream = void *;
using Event = void *;
/// CUdeviceptr: a device address (unified with host addresses on 64-bit).
using DevicePtr = uint64_t;

/// A launch shape: grid in blocks, or block in threads.
struct Dim3 {
  int64_t x = 1, y = 1, z = 1;
};

struct DeviceInfo {
  std::string name;
  /// major * 10 + minor: 80 for sm_80, 90 for sm_90.
  int computeCapability = 0;
};

/// The process's CUDA driver. Every call makes the selected device's
/// primary context current on the calling thread first (as the CUDA runtime
/// does), so memory and modules are shared with other users of the primary
/// context (PyTorch, cuBLAS).
class Driver {
public:
  /// The driver, loaded on the first call (thread-safe). It lives until the
  /// process exits and is never unloaded, so kernel libraries' global
  /// destructors may still call it.
  static Driver &get();

  /// Whether a GPU is usable: the driver loaded, every entry point resolved,
  /// cuInit succeeded and there is at least one device.
  bool available() const { return reason_.empty(); }
  /// Why `available()` is false; empty when it is true.
  llvm::StringRef unavailableReason() const { return reason_; }
  /// An error carrying the reason, or success.
  llvm::Error checkAvailable() const;

  /// The path passed to dlopen ($CLUSOPT_LIBCUDA, else "libcuda.so.1").
  llvm::StringRef libraryPath() const { return path_; }
  /// cuDriverGetVersion: 13000 for CUDA 13.0; 0 when not loaded.
  int driverVersion() const { return driverVersion_; }
  int deviceCount() const { return static_cast<int>(devices_.size()); }
  /// The device that calls use (0 unless `setDevice` chose another).
  int device() const { return device_; }
  /// The selected device's name and compute capability; empty and 0 when
  /// no GPU is usable.
  const DeviceInfo &deviceInfo() const;
  /// Selects the device for later calls from any thread.
  llvm::Error setDevice(int ordinal);

  // Memory. Sizes are in bytes; zero-byte allocations get one byte, so
  // every allocation has a distinct non-null address.
  llvm::Expected<DevicePtr> alloc(size_t bytes);
  /// Managed (unified) memory, usable from the host and the device.
  llvm::Expected<DevicePtr> allocManaged(size_t bytes);
  llvm::Error free(DevicePtr ptr);
  llvm::Error copyToDevice(DevicePtr dst, const void *src, size_t bytes);
  llvm::Error copyToHost(void *dst, DevicePtr src, size_t bytes);
  llvm::Error copyDeviceToDevice(DevicePtr dst, DevicePtr src, size_t bytes);
  /// Any direction (unified addressing), ordered on `stream`.
  llvm::Error copyAsync(DevicePtr dst, DevicePtr src, size_t bytes,
                        Stream stream);
  /// Sets `count` elements of 1, 2 or 4 bytes to `value`, on `stream`.
  llvm::Error memsetAsync(DevicePtr dst, uint32_t value, size_t count,
                          unsigned elementBytes, Stream stream);
  /// Whether `ptr` is device or managed memory of the driver (false for
  /// plain host memory).
  llvm::Expected<bool> isDevicePointer(const void *ptr);
  /// Page-locks host memory (cuMemHostRegister), and undoes it.
  llvm::Error hostRegister(void *ptr, size_t bytes);
  llvm::Error hostUnregister(void *ptr);

  // Modules and launches.
  /// Loads a cubin, a fatbin or NUL-terminated PTX (JIT-compiled by the
  /// driver). `jitOptLevel` 0-4 sets the PTX JIT's optimisation level; -1
  /// keeps the driver's default. JIT errors come with the JIT's log.
  llvm::Expected<Module> loadModule(const void *image, int jitOptLevel = -1);
  /// Unloading null is a no-op.
  llvm::Error unloadModule(Module module);
  llvm::Expected<Function> getFunction(Module module, const char *name);
  /// cuLaunchKernel; every dim must be in [1, 2^32).
  llvm::Error launch(Function fn, Dim3 grid, Dim3 block, unsigned sharedBytes,
                     Stream stream, void **params, void **extra = nullptr);
  /// A launch with thread-block clusters (sm_90; cuLaunchKernelEx).
  llvm::Error launchCluster(Function fn, Dim3 cluster, Dim3 grid, Dim3 block,
                            unsigned sharedBytes, Stream stream, void **params,
                            void **extra = nullptr);

  // Streams and events. A null stream is the legacy default stream.
  llvm::Expected<Stream> createStream();
  llvm::Error destroyStream(Stream stream);
  llvm::Error synchronize(Stream stream);
  /// Waits for all work of the context (cuCtxSynchronize).
  llvm::Error synchronize();
  llvm::Error streamWaitEvent(Stream stream, Event event);
  /// `timing` events can be passed to `elapsedMs`.
  llvm::Expected<Event> createEvent(bool timing);
  llvm::Error destroyEvent(Event event);
  llvm::Error recordEvent(Event event, Stream stream);
  llvm::Error synchronizeEvent(Event event);
  /// Milliseconds between two recorded timing events, after both completed.
  llvm::Expected<float> elapsedMs(Event start, Event end);

  /// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)" for a CUresult.
  std::string describe(int result) const;

  Driver(const Driver &) = delete;
  Driver &operator=(const Driver &) = delete;

private:
  Driver();
  void load();
  /// Success for CUDA_SUCCESS, else "`call` failed: <describe>".
  llvm::Error check(int result, const char *call) const;
  /// Makes the selected device's primary context current on this thread
  /// (retaining it on first use).
  llvm::Error enter();

  struct Api;
  std::unique_ptr<Api> api_;
  void *handle_ = nullptr;
  std::string path_, reason_;
  int driverVersion_ = 0;
  std::vector<DeviceInfo> devices_;
  std::atomic<int> device_{0};
  std::mutex contextMutex_;
  std::vector<void *> contexts_; // primary contexts by ordinal, or null
};

} // namespace clusopt::runtime::cuda

#endif // CLUSOPT_RUNTIME_CUDA_CUDADRIVER_H

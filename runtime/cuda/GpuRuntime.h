/*===- GpuRuntime.h - libclusopt_gpu_runtime's C interface --------*- C -*-===*\
|*                                                                            *|
|* libclusopt_gpu_runtime.so exports two C interfaces over the CUDA driver,   *|
|* which it loads with dlopen (runtime/cuda/CudaDriver.h):                    *|
|*                                                                            *|
|* - MLIR's CUDA runtime-wrapper ABI (the mgpu* functions), which host code   *|
|*   lowered by upstream `gpu-to-llvm` calls; a kernel library compiled for   *|
|*   sm_80/sm_90 leaves these undefined, to be bound when it is loaded after  *|
|*   this library (RTLD_GLOBAL).                                              *|
|* - clusopt_gpu_*: availability, device memory and errors for callers        *|
|*   (KernelLibrary, python/clusopt/gpu.py).                                  *|
|*                                                                            *|
|* Nothing here aborts. A failing call records a sticky error (the first one  *|
|* is kept, naming the function and the driver's message; later ones are     *|
|* counted) and returns null or does nothing; clusopt_gpu_take_error reads    *|
|* and clears it.                                                             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef CLUSOPT_RUNTIME_CUDA_GPURUNTIME_H
#define CLUSOPT_RUNTIME_CUDA_GPURUNTIME_H

#include <stddef.h>
#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#if defined(__GNUC__)
#define CLUSOPT_GPU_EXPORT __attribute__((visibility("default")))
#else
#define CLUSOPT_GPU_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*===-- MLIR's CUDA runtime-wrapper ABI (LLVM 22 gpu-to-llvm) -------------===*/

/* Module images are cubins or fatbins (mgpuModuleLoad, called by a global
 * constructor when the kernel library is loaded) or NUL-terminated PTX
 * (mgpuModuleLoadJIT, for `gpu-module-to-binary format=isa`). */
CLUSOPT_GPU_EXPORT void *mgpuModuleLoad(void *data, size_t gpuBlobSize);
CLUSOPT_GPU_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel);
CLUSOPT_GPU_EXPORT void mgpuModuleUnload(void *module);
CLUSOPT_GPU_EXPORT void *mgpuModuleGetFunction(void *module, const char *name);
CLUSOPT_GPU_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                         intptr_t gridY, intptr_t gridZ,
                                         intptr_t blockX, intptr_t blockY,
                                         intptr_t blockZ, int32_t smem,
                                         void *stream, void **params,
                                         void **extra, size_t paramsCount);
CLUSOPT_GPU_EXPORT void
mgpuLaunchClusterKernel(void *function, intptr_t clusterX, intptr_t clusterY,
                        intptr_t clusterZ, intptr_t gridX, intptr_t gridY,
                        intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                        intptr_t blockZ, int32_t smem, void *stream,
                        void **params, void **extra);
CLUSOPT_GPU_EXPORT void *mgpuStreamCreate(void);
CLUSOPT_GPU_EXPORT void mgpuStreamDestroy(void *stream);
CLUSOPT_GPU_EXPORT void mgpuStreamSynchronize(void *stream);
CLUSOPT_GPU_EXPORT void mgpuStreamWaitEvent(void *stream, void *event);
CLUSOPT_GPU_EXPORT void *mgpuEventCreate(void);
CLUSOPT_GPU_EXPORT void mgpuEventDestroy(void *event);
CLUSOPT_GPU_EXPORT void mgpuEventSynchronize(void *event);
CLUSOPT_GPU_EXPORT void mgpuEventRecord(void *event, void *stream);
/* `isHostShared` (gpu.alloc host_shared) allocates managed memory. */
CLUSOPT_GPU_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, void *stream,
                                      bool isHostShared);
CLUSOPT_GPU_EXPORT void mgpuMemFree(void *ptr, void *stream);
CLUSOPT_GPU_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                                   void *stream);
CLUSOPT_GPU_EXPORT void mgpuMemset32(void *dst, uint32_t value, size_t count,
                                     void *stream);
CLUSOPT_GPU_EXPORT void mgpuMemset16(void *dst, uint16_t value, size_t count,
                                     void *stream);
CLUSOPT_GPU_EXPORT void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes);
CLUSOPT_GPU_EXPORT void mgpuMemHostUnregister(void *ptr);
/* `descriptor` points to a memref descriptor of rank `rank`: {allocated,
 * aligned, offset, sizes[rank], strides[rank]}; it must be contiguous. */
CLUSOPT_GPU_EXPORT void mgpuMemHostRegisterMemRef(int64_t rank,
                                                  void *descriptor,
                                                  int64_t elementSizeBytes);
CLUSOPT_GPU_EXPORT void mgpuMemHostUnregisterMemRef(int64_t rank,
                                                    void *descriptor,
                                                    int64_t elementSizeBytes);
CLUSOPT_GPU_EXPORT void mgpuSetDefaultDevice(int32_t device);

/*===-- clusopt's C API ---------------------------------------------------===*/

/* 1 when a GPU is usable; else 0, with the reason copied into `reason`
 * (NUL-terminated, truncated to n - 1 bytes; `reason` may be null). */
CLUSOPT_GPU_EXPORT int clusopt_gpu_available(char *reason, size_t n);
/* The selected device's name; "" when no GPU is usable. */
CLUSOPT_GPU_EXPORT const char *clusopt_gpu_device_name(void);
/* major * 10 + minor (80, 90); 0 when no GPU is usable. */
CLUSOPT_GPU_EXPORT int clusopt_gpu_compute_capability(void);
/* Number of devices; 0 when no GPU is usable. */
CLUSOPT_GPU_EXPORT int clusopt_gpu_device_count(void);
/* The driver's version (13000 for CUDA 13.0), 0 when it did not load. */
CLUSOPT_GPU_EXPORT int clusopt_gpu_driver_version(void);

/* Device memory. alloc returns null on failure (error recorded); a
 * zero-byte allocation still gets a distinct address. */
CLUSOPT_GPU_EXPORT void *clusopt_gpu_alloc(size_t bytes);
CLUSOPT_GPU_EXPORT void clusopt_gpu_free(void *ptr);
/* Synchronous copies: 0 on success, -1 on failure (error recorded). */
CLUSOPT_GPU_EXPORT int clusopt_gpu_copy_to_device(void *dst, const void *src,
                                                  size_t bytes);
CLUSOPT_GPU_EXPORT int clusopt_gpu_copy_to_host(void *dst, const void *src,
                                                size_t bytes);
CLUSOPT_GPU_EXPORT int
clusopt_gpu_copy_device_to_device(void *dst, const void *src, size_t bytes);
/* 1 when `ptr` is device or managed memory, 0 when it is host memory (or
 * no GPU is usable). Records no error. */
CLUSOPT_GPU_EXPORT int clusopt_gpu_is_device_pointer(const void *ptr);
/* Waits for all work on the device: 0 on success, -1 on failure. */
CLUSOPT_GPU_EXPORT int clusopt_gpu_synchronize(void);

/* Timing events: create returns null on failure; elapsed is the time in
 * milliseconds between two recorded events once both completed, -1 on
 * failure. A null stream is the default stream. */
CLUSOPT_GPU_EXPORT void *clusopt_gpu_event_create(void);
CLUSOPT_GPU_EXPORT void clusopt_gpu_event_destroy(void *event);
CLUSOPT_GPU_EXPORT int clusopt_gpu_event_record(void *event, void *stream);
CLUSOPT_GPU_EXPORT float clusopt_gpu_event_elapsed_ms(void *start, void *end);

/* 1 if an error was recorded since the last call: copies it into `buf`
 * (NUL-terminated, truncated to n - 1 bytes; `buf` may be null) and clears
 * it. 0 otherwise. */
CLUSOPT_GPU_EXPORT int clusopt_gpu_take_error(char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* CLUSOPT_RUNTIME_CUDA_GPURUNTIME_H */

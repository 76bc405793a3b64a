//===- cuda-test.cpp - The CUDA driver layer and the mgpu* ABI ------------===//
//
// Drives runtime/cuda (linked in, under ASan/UBSan) in one of four modes:
//
//   probe      prints "available: NAME sm_XY" or "unavailable: REASON"
//              (lit uses it to decide whether the GPU tests run);
//   no-driver  with $CLUSOPT_LIBCUDA naming a missing file: no GPU, the
//              reason names the library, and every mgpu* and clusopt_gpu_*
//              function records an error instead of crashing;
//   stub       with $CLUSOPT_LIBCUDA naming the CUDA toolkit's stub
//              libcuda.so: no GPU, and the reason says it is a stub;
//   device     on a GPU: memory round trips, a hand-written PTX kernel
//              JIT-compiled by the driver, launched through the mgpu* ABI
//              and timed with events, and the errors of bad calls.
//
//===----------------------------------------------------------------------===//

#include "Check.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/GpuRuntime.h"

#include "llvm/ADT/StringRef.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace clusopt::runtime::cuda;
using llvm::StringRef;

namespace {

/// The sticky error, which must be there; clears it.
std::string takeError(const char *what) {
  char buf[2048];
  if (!clusopt_gpu_take_error(buf, sizeof(buf))) {
    llvm::errs() << what << ": expected a recorded error, found none\n";
    std::exit(1);
  }
  return buf;
}

/// Checks that no error is recorded.
void checkNoError(const char *what) {
  char buf[2048];
  if (clusopt_gpu_take_error(buf, sizeof(buf))) {
    llvm::errs() << what << ": unexpected GPU error: " << buf << "\n";
    std::exit(1);
  }
}

/// Checks that exactly one error was recorded, by `function`.
void expectError(const char *function) {
  std::string error = takeError(function);
  if (!StringRef(error).starts_with(std::string(function) + ": ") ||
      StringRef(error).contains("later error")) {
    llvm::errs() << function << ": unexpected error text: " << error << "\n";
    std::exit(1);
  }
}

int probe() {
  Driver &d = Driver::get();
  if (d.available())
    llvm::outs() << "available: " << d.deviceInfo().name << " sm_"
                 << d.deviceInfo().computeCapability << "\n";
  else
    llvm::outs() << "unavailable: " << d.unavailableReason() << "\n";
  return 0;
}

int noDriver() {
  char reason[1024];
  CHECK(clusopt_gpu_available(reason, sizeof(reason)) == 0);
  llvm::outs() << "reason: " << reason << "\n";
  CHECK(StringRef(clusopt_gpu_device_name()).empty());
  CHECK(clusopt_gpu_compute_capability() == 0);
  CHECK(clusopt_gpu_device_count() == 0);
  CHECK(clusopt_gpu_driver_version() == 0);
  // A short buffer gets a truncated, terminated reason.
  char shortReason[8];
  CHECK(clusopt_gpu_available(shortReason, sizeof(shortReason)) == 0);
  CHECK(std::strlen(shortReason) == 7);
  CHECK(clusopt_gpu_available(nullptr, 0) == 0);
  checkNoError("availability queries");

  // The C++ API reports the same reason as llvm::Errors.
  Driver &d = Driver::get();
  CHECK(!d.available() && d.unavailableReason() == reason);
  llvm::outs() << "Driver::alloc: "
               << errorOf(d.alloc(64), "alloc without a driver") << "\n";
  errorOf(d.loadModule("garbage"), "loadModule without a driver");
  errorOf(d.createStream(), "createStream without a driver");
  errorOf(d.elapsedMs(nullptr, nullptr), "elapsedMs without a driver");
  errorOf(d.setDevice(0), "setDevice without a driver");
  checkOk(d.free(0), "freeing null is a no-op");

  // Module loading from a global constructor: garbage, no driver.
  const char garbage[] = "not a cubin, not PTX";
  CHECK(mgpuModuleLoad(const_cast<char *>(garbage), sizeof(garbage)) ==
        nullptr);
  llvm::outs() << "module-load: " << takeError("mgpuModuleLoad") << "\n";

  // Every mgpu* function: no crash, one error naming the function.
  int shims = 0;
  auto shim = [&](const char *name, auto call) {
    call();
    expectError(name);
    ++shims;
  };
  shim("mgpuModuleLoadJIT",
       [&] { CHECK(!mgpuModuleLoadJIT(const_cast<char *>(garbage), 2)); });
  shim("mgpuModuleUnload",
       [] { mgpuModuleUnload(reinterpret_cast<void *>(0x1000)); });
  shim("mgpuModuleGetFunction",
       [] { CHECK(!mgpuModuleGetFunction(nullptr, "twice")); });
  shim("mgpuLaunchKernel", [] {
    mgpuLaunchKernel(nullptr, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr,
                     0);
  });
  shim("mgpuLaunchClusterKernel", [] {
    mgpuLaunchClusterKernel(nullptr, 2, 1, 1, 4, 1, 1, 32, 1, 1, 0, nullptr,
                            nullptr, nullptr);
  });
  shim("mgpuStreamCreate", [] { CHECK(!mgpuStreamCreate()); });
  shim("mgpuStreamDestroy", [] { mgpuStreamDestroy(nullptr); });
  shim("mgpuStreamSynchronize", [] { mgpuStreamSynchronize(nullptr); });
  shim("mgpuStreamWaitEvent", [] { mgpuStreamWaitEvent(nullptr, nullptr); });
  shim("mgpuEventCreate", [] { CHECK(!mgpuEventCreate()); });
  shim("mgpuEventDestroy", [] { mgpuEventDestroy(nullptr); });
  shim("mgpuEventSynchronize", [] { mgpuEventSynchronize(nullptr); });
  shim("mgpuEventRecord", [] { mgpuEventRecord(nullptr, nullptr); });
  shim("mgpuMemAlloc", [] { CHECK(!mgpuMemAlloc(256, nullptr, false)); });
  shim("mgpuMemAlloc", [] { CHECK(!mgpuMemAlloc(256, nullptr, true)); });
  shim("mgpuMemFree", [] { mgpuMemFree(nullptr, nullptr); });
  std::vector<float> host(64, 1.0f);
  shim("mgpuMemcpy", [&] {
    mgpuMemcpy(host.data(), host.data() + 32, 32 * sizeof(float), nullptr);
  });
  shim("mgpuMemset32", [&] { mgpuMemset32(host.data(), 0, 64, nullptr); });
  shim("mgpuMemset16", [&] { mgpuMemset16(host.data(), 0, 128, nullptr); });
  shim("mgpuMemHostRegister",
       [&] { mgpuMemHostRegister(host.data(), 64 * sizeof(float)); });
  shim("mgpuMemHostUnregister", [&] { mgpuMemHostUnregister(host.data()); });
  // A rank-1 descriptor over `host`: {allocated, aligned, offset, size,
  // stride}.
  int64_t desc[5] = {int64_t(reinterpret_cast<uintptr_t>(host.data())),
                     int64_t(reinterpret_cast<uintptr_t>(host.data())), 0, 64,
                     1};
  shim("mgpuMemHostRegisterMemRef",
       [&] { mgpuMemHostRegisterMemRef(1, desc, sizeof(float)); });
  shim("mgpuMemHostUnregisterMemRef",
       [&] { mgpuMemHostUnregisterMemRef(1, desc, sizeof(float)); });
  shim("mgpuMemHostRegisterMemRef",
       [&] { mgpuMemHostRegisterMemRef(1, nullptr, sizeof(float)); });
  shim("mgpuSetDefaultDevice", [] { mgpuSetDefaultDevice(0); });
  llvm::outs() << "mgpu shims: " << shims
               << " calls, each recorded one error\n";

  // clusopt's C API.
  int calls = 0;
  auto api = [&](const char *name, auto call) {
    call();
    expectError(name);
    ++calls;
  };
  api("clusopt_gpu_alloc", [] { CHECK(!clusopt_gpu_alloc(1024)); });
  api("clusopt_gpu_copy_to_device", [&] {
    CHECK(clusopt_gpu_copy_to_device(host.data(), host.data(), 4) == -1);
  });
  api("clusopt_gpu_copy_to_host", [&] {
    CHECK(clusopt_gpu_copy_to_host(host.data(), host.data(), 4) == -1);
  });
  api("clusopt_gpu_copy_device_to_device", [&] {
    CHECK(clusopt_gpu_copy_device_to_device(host.data(), host.data(), 4) == -1);
  });
  api("clusopt_gpu_synchronize",
      [] { CHECK(clusopt_gpu_synchronize() == -1); });
  api("clusopt_gpu_event_create", [] { CHECK(!clusopt_gpu_event_create()); });
  api("clusopt_gpu_event_record",
      [] { CHECK(clusopt_gpu_event_record(nullptr, nullptr) == -1); });
  api("clusopt_gpu_event_elapsed_ms",
      [] { CHECK(clusopt_gpu_event_elapsed_ms(nullptr, nullptr) == -1.0f); });
  llvm::outs() << "C API: " << calls << " calls, each recorded one error\n";
  // Freeing null, unloading a null module (a failed load's), destroying a
  // null event and asking about a pointer are no-ops.
  clusopt_gpu_free(nullptr);
  mgpuModuleUnload(nullptr);
  clusopt_gpu_event_destroy(nullptr);
  CHECK(clusopt_gpu_is_device_pointer(host.data()) == 0);
  checkNoError("no-op calls");

  // The first error is kept; later ones are counted; taking clears.
  mgpuStreamCreate();
  mgpuEventCreate();
  clusopt_gpu_alloc(1);
  std::string first = takeError("three failures");
  llvm::outs() << "sticky: " << first << "\n";
  CHECK(clusopt_gpu_take_error(nullptr, 0) == 0);
  mgpuStreamCreate();
  char tiny[10];
  CHECK(clusopt_gpu_take_error(tiny, sizeof(tiny)) == 1);
  CHECK(StringRef(tiny) == "mgpuStrea");
  CHECK(clusopt_gpu_take_error(tiny, sizeof(tiny)) == 0);
  llvm::outs() << "cuda-test: OK\n";
  return 0;
}

int stub() {
  char reason[1024];
  CHECK(clusopt_gpu_available(reason, sizeof(reason)) == 0);
  llvm::outs() << "reason: " << reason << "\n";
  CHECK(!mgpuModuleLoad(const_cast<char *>("x"), 2));
  llvm::outs() << "module-load: " << takeError("mgpuModuleLoad") << "\n";
  CHECK(!clusopt_gpu_alloc(16));
  expectError("clusopt_gpu_alloc");
  llvm::outs() << "cuda-test: OK\n";
  return 0;
}

// y[i] = 2 x[i] for i < n: PTX for sm_70 and later, JIT-compiled by the
// driver for whatever GPU is present.
const char *const kTwicePtx = R"(
.version 7.0
.target sm_70
.address_size 64

.visible .entry twice(.param .u64 x, .param .u64 y, .param .u32 n)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .f32 %f<3>;
  .reg .b64 %rd<8>;
  ld.param.u64 %rd1, [x];
  ld.param.u64 %rd2, [y];
  ld.param.u32 %r1, [n];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  setp.ge.u32 %p1, %r5, %r1;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd3, %rd1;
  cvta.to.global.u64 %rd4, %rd2;
  mul.wide.u32 %rd5, %r5, 4;
  add.s64 %rd6, %rd3, %rd5;
  ld.global.f32 %f1, [%rd6];
  add.f32 %f2, %f1, %f1;
  add.s64 %rd7, %rd4, %rd5;
  st.global.f32 [%rd7], %f2;
DONE:
  ret;
}
)";

int device() {
  char reason[1024];
  if (!clusopt_gpu_available(reason, sizeof(reason))) {
    llvm::errs() << "device mode needs a GPU: " << reason << "\n";
    return 1;
  }
  Driver &d = Driver::get();
  int cc = clusopt_gpu_compute_capability();
  llvm::outs() << "device: " << clusopt_gpu_device_name() << ", sm_" << cc
               << ", driver " << clusopt_gpu_driver_version() << ", "
               << clusopt_gpu_device_count() << " device(s)\n";
  CHECK(cc >= 50 && clusopt_gpu_device_count() >= 1);

  // Round trips: host -> device -> device -> host, C API and Driver.
  constexpr unsigned n = 1000;
  std::vector<float> x(n), y(n, -1.0f);
  for (unsigned i = 0; i < n; ++i)
    x[i] = 0.25f * i - 7.0f;
  void *dx = clusopt_gpu_alloc(n * sizeof(float));
  void *dy = clusopt_gpu_alloc(n * sizeof(float));
  CHECK(dx && dy && dx != dy);
  CHECK(clusopt_gpu_is_device_pointer(dx) == 1);
  CHECK(clusopt_gpu_is_device_pointer(x.data()) == 0);
  CHECK(clusopt_gpu_copy_to_device(dx, x.data(), n * sizeof(float)) == 0);
  CHECK(clusopt_gpu_copy_device_to_device(dy, dx, n * sizeof(float)) == 0);
  CHECK(clusopt_gpu_copy_to_host(y.data(), dy, n * sizeof(float)) == 0);
  CHECK(y == x);
  DevicePtr dz = checkOk(d.alloc(0), "zero-byte alloc");
  CHECK(dz != 0);
  checkOk(d.free(dz), "free");
  checkNoError("round trips");
  llvm::outs() << "round trip: OK\n";

  // mgpu* memory functions on a stream.
  void *stream = mgpuStreamCreate();
  CHECK(stream);
  auto *dm = static_cast<float *>(mgpuMemAlloc(n * sizeof(float), stream,
                                               /*isHostShared=*/false));
  CHECK(dm);
  mgpuMemset32(dm, 0x3f800000u, n, stream); // 1.0f
  mgpuMemcpy(y.data(), dm, n * sizeof(float), stream);
  mgpuStreamSynchronize(stream);
  for (float v : y)
    CHECK(v == 1.0f);
  mgpuMemset16(dm, 0, 2 * n, stream);
  mgpuMemcpy(y.data(), dm, n * sizeof(float), stream);
  mgpuStreamSynchronize(stream);
  for (float v : y)
    CHECK(v == 0.0f);
  mgpuMemFree(dm, stream);
  auto *managed = static_cast<float *>(mgpuMemAlloc(64, stream, true));
  CHECK(managed);
  managed[3] = 5.0f; // host access to managed memory
  CHECK(managed[3] == 5.0f);
  mgpuMemFree(managed, stream);
  mgpuMemHostRegister(x.data(), n * sizeof(float));
  mgpuMemHostUnregister(x.data());
  checkNoError("mgpu memory functions");
  llvm::outs() << "mgpu memory: OK\n";

  // The PTX kernel, launched through the mgpu* ABI, timed with events.
  void *module =
      mgpuModuleLoad(const_cast<char *>(kTwicePtx), std::strlen(kTwicePtx) + 1);
  CHECK(module);
  void *fn = mgpuModuleGetFunction(module, "twice");
  CHECK(fn);
  checkNoError("module load");
  void *start = clusopt_gpu_event_create(), *end = clusopt_gpu_event_create();
  CHECK(start && end);
  std::fill(y.begin(), y.end(), -1.0f);
  CHECK(clusopt_gpu_copy_to_device(dy, y.data(), n * sizeof(float)) == 0);
  unsigned count = n;
  void *params[] = {&dx, &dy, &count};
  CHECK(clusopt_gpu_event_record(start, stream) == 0);
  mgpuLaunchKernel(fn, (n + 127) / 128, 1, 1, 128, 1, 1, 0, stream, params,
                   nullptr, 3);
  CHECK(clusopt_gpu_event_record(end, stream) == 0);
  mgpuStreamSynchronize(stream);
  checkNoError("launch");
  float ms = clusopt_gpu_event_elapsed_ms(start, end);
  CHECK(ms >= 0);
  CHECK(clusopt_gpu_copy_to_host(y.data(), dy, n * sizeof(float)) == 0);
  for (unsigned i = 0; i < n; ++i)
    CHECK(y[i] == 2 * x[i]);
  llvm::outs() << "ptx kernel: y = 2x for " << n
               << " elements, timed with events\n";

  // The same through the JIT entry point and the C++ API, with an event
  // chain between two streams.
  void *jitModule = mgpuModuleLoadJIT(const_cast<char *>(kTwicePtx), 3);
  CHECK(jitModule);
  void *jitFn = mgpuModuleGetFunction(jitModule, "twice");
  void *other = mgpuStreamCreate(), *done = mgpuEventCreate();
  CHECK(jitFn && other && done);
  checkOk(d.launch(jitFn, {8, 1, 1}, {128, 1, 1}, 0, other, params),
          "Driver::launch");
  mgpuEventRecord(done, other);
  mgpuStreamWaitEvent(stream, done);
  mgpuEventSynchronize(done);
  mgpuStreamSynchronize(stream);
  mgpuEventDestroy(done);
  mgpuStreamDestroy(other);
  checkNoError("JIT module");
  if (cc >= 90) {
    // Thread-block clusters of 2 over the same grid.
    std::fill(y.begin(), y.end(), -1.0f);
    CHECK(clusopt_gpu_copy_to_device(dy, y.data(), n * sizeof(float)) == 0);
    mgpuLaunchClusterKernel(fn, 2, 1, 1, 8, 1, 1, 128, 1, 1, 0, stream, params,
                            nullptr);
    mgpuStreamSynchronize(stream);
    checkNoError("cluster launch");
    CHECK(clusopt_gpu_copy_to_host(y.data(), dy, n * sizeof(float)) == 0);
    for (unsigned i = 0; i < n; ++i)
      CHECK(y[i] == 2 * x[i]);
  }
  llvm::outs() << "jit and cluster launches: OK\n";

  // Errors of bad calls, recorded with the driver's message.
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, stream, params, nullptr, 3);
  std::string error = takeError("null function");
  CHECK(StringRef(error).contains("null function"));
  mgpuLaunchKernel(fn, 0, 1, 1, 128, 1, 1, 0, stream, params, nullptr, 3);
  CHECK(StringRef(takeError("empty grid")).contains("out of range"));
  CHECK(!mgpuModuleGetFunction(module, "thrice"));
  error = takeError("missing function");
  CHECK(StringRef(error).contains("CUDA_ERROR_NOT_FOUND"));
  const char garbage[] = "not a cubin, not PTX";
  CHECK(!mgpuModuleLoad(const_cast<char *>(garbage), sizeof(garbage)));
  llvm::outs() << "garbage module: " << takeError("garbage module") << "\n";
  CHECK(!clusopt_gpu_alloc(size_t(1) << 62));
  CHECK(StringRef(takeError("huge alloc")).contains("cuMemAlloc_v2 failed"));
  llvm::outs() << "errors: OK\n";

  clusopt_gpu_event_destroy(start);
  clusopt_gpu_event_destroy(end);
  mgpuModuleUnload(module);
  mgpuModuleUnload(jitModule);
  mgpuStreamDestroy(stream);
  clusopt_gpu_free(dx);
  clusopt_gpu_free(dy);
  CHECK(clusopt_gpu_synchronize() == 0);
  checkNoError("cleanup");
  llvm::outs() << "cuda-test: OK\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  StringRef mode = argc == 2 ? argv[1] : "";
  if (mode == "probe")
    return probe();
  if (mode == "no-driver")
    return noDriver();
  if (mode == "stub")
    return stub();
  if (mode == "device")
    return device();
  llvm::errs() << "usage: clusopt-runtime-cuda-test probe|no-driver|stub|"
                  "device\n";
  return 2;
}

//===- CpuTarget.cpp - the CPU targets clusopt compiles for ---------------===//

#include "clusopt/Tuning/CpuTarget.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

using namespace llvm;

Expected<clusopt::CpuTarget> clusopt::resolveCpuTarget(StringRef name) {
  CpuTarget t;
  t.name = name.str();
  std::string hostTriple = sys::getDefaultTargetTriple();
  bool hostIsX86 = Triple(hostTriple).getArch() == Triple::x86_64;
  if (name == "host") {
    t.triple = hostTriple;
    t.cpu = sys::getHostCPUName().str();
    StringMap<bool> features = sys::getHostCPUFeatures();
    SubtargetFeatures list;
    for (auto &f : features)
      list.AddFeature(f.getKey(), f.getValue());
    t.features = list.getString();
    t.vectorWidth = features.lookup("avx512f") ? 16
                    : features.lookup("avx2")  ? 8
                                               : 4;
    t.runsHere = true;
    return t;
  }
  if (name == "x86-64" || name == "x86-64-v3" || name == "x86-64-v4") {
    t.triple = "x86_64-unknown-linux-gnu";
    t.cpu = name.str();
    t.vectorWidth = name == "x86-64" ? 4 : name == "x86-64-v3" ? 8 : 16;
    t.runsHere = hostIsX86;
    return t;
  }
  if (name == "aarch64") {
    t.triple = "aarch64-unknown-linux-gnu";
    t.cpu = "generic";
    t.features = "+neon";
    t.vectorWidth = 4;
    t.runsHere = Triple(hostTriple).getArch() == Triple::aarch64;
    return t;
  }
  // GPU kernels have fixed tiles, so there is nothing to tune on a GPU;
  // clusopt-compile takes sm_* targets before it gets here.
  if (name.starts_with("sm_") || name == "cuda" || name == "nvptx" ||
      name == "gpu")
    return createStringError(
        "--target=" + name.str() +
        " is a GPU: its kernels have fixed tiles and are not tuned; tune a "
        "CPU target (host, x86-64, x86-64-v3, x86-64-v4), or compile for "
        "the GPU with clusopt-compile --target=sm_80|sm_90");
  return createStringError("unknown --target '" + name.str() +
                           "'; expected one of host, x86-64, x86-64-v3, "
                           "x86-64-v4, aarch64");
}

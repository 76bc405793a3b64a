//===- CpuTarget.h - the CPU targets clusopt compiles for -------*- C++ -*-===//
//
// Resolves a --target name to a triple, CPU name, feature string and vector
// width. clusopt-compile and clusopt-tune share it, so the target half of a
// tuning key is computed identically by both.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_TUNING_CPUTARGET_H
#define CLUSOPT_TUNING_CPUTARGET_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace clusopt {

/// What the pipeline and LLVM need to know about a target.
struct CpuTarget {
  std::string name, triple, cpu, features;
  int64_t vectorWidth = 4;
  bool runsHere = false;
};

/// `name` is host, x86-64, x86-64-v3, x86-64-v4 or aarch64. GPU names
/// (sm_80, sm_90, ...) get an error saying there is no GPU path yet.
llvm::Expected<CpuTarget> resolveCpuTarget(llvm::StringRef name);

} // namespace clusopt

#endif // CLUSOPT_TUNING_CPUTARGET_H

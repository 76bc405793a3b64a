//===- Registry.h - Models by name, loaded from their weights ---*- C++ -*-===//
//
// The one place that turns a model name and a weights file into a running
// Model: clusopt-run and the C API (libclusopt_runtime, include/clusopt/
// runtime.h) both load through it, so they run the same code with the same
// checks and messages.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_MODELS_REGISTRY_H
#define CLUSOPT_RUNTIME_MODELS_REGISTRY_H

#include "runtime/KernelLibrary.h"
#include "runtime/models/ClusTR.h"
#include "runtime/models/Model.h"

#include <memory>
#include <string>

namespace clusopt::runtime {

enum class ModelFamily { Paca, ClusTR, Cast };

/// The family of `name`, or "unknown model 'x' (known: ...)".
llvm::Expected<ModelFamily> modelFamily(llvm::StringRef name);

/// The kernel library a family's models call unless told otherwise:
/// $CLUSOPT_PACA_KERNELS, $CLUSOPT_CLUSTR_KERNELS or $CLUSOPT_CAST_KERNELS,
/// else the one built with clusopt.
std::string defaultKernelsPath(ModelFamily family);

struct ModelOptions {
  /// The kernel library (.so with its .json manifest); empty: the default.
  std::string kernelsPath;
  /// Tensors in the weights file that the model does not use are an error
  /// unless this is set.
  bool allowUnusedWeights = false;
};

/// A model with the kernels it calls (which must outlive it).
struct LoadedModel {
  std::unique_ptr<KernelLibrary> kernels;
  std::unique_ptr<Model> model;
  /// The model as a ClusTR (for its clusterings), or null.
  const ClusTR *clustr = nullptr;
  /// What the weights decided, e.g. " (depth 12, 197 tokens)"; may be empty.
  std::string detail;
};

/// Opens the kernels and the weights (safetensors, f32), checks every
/// tensor against the model's config and loads it. Errors name the file.
llvm::Expected<LoadedModel> loadModel(llvm::StringRef name,
                                      llvm::StringRef weightsPath,
                                      const ModelOptions &options = {});

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_MODELS_REGISTRY_H

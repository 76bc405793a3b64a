//===- Artifact.h - Compiled model artifacts --------------------*- C++ -*-===//
//
// A model artifact is the directory `clusopt.compile_model(...).save(DIR)`
// or `python -m clusopt compile-model` writes (docs/artifacts.md): the kernel
// library of the whole model, its kernel manifest, and model.json, which
// lists the entry point's arguments in order. An argument is an input, or
// weights: one flat argument per dtype that holds every weight at an offset,
// each weight named by its PyTorch state_dict key. Loading binds the weights
// from a safetensors file by those names, so a checkpoint loads unchanged.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_MODELS_ARTIFACT_H
#define CLUSOPT_RUNTIME_MODELS_ARTIFACT_H

#include "runtime/models/Registry.h"

#include <string>
#include <vector>

namespace clusopt::runtime {

/// The format model.json declares.
inline constexpr llvm::StringLiteral kModelArtifactFormat = "clusopt-model/1";

/// One weight inside a packed weights argument.
struct ArtifactWeight {
  std::string name; // state_dict key
  TensorSpec spec;
  int64_t offset = 0; // in elements of the packed argument
  /// From the artifact's constants file rather than the weights file (a
  /// constant made in forward, a non-persistent buffer).
  bool constant = false;
};

struct ArtifactArgument {
  enum class Role { Input, Weights };
  Role role = Role::Input;
  std::string name; // an input's name
  TensorSpec spec;
  std::vector<ArtifactWeight> weights; // Role::Weights
};

/// model.json, parsed and checked for structure.
struct ArtifactManifest {
  std::string dir, name, compilerVersion;
  std::string targetName, targetTriple;
  std::vector<std::string> targetFeatures;
  std::string library, kernels, constants, entryPoint;
  std::vector<ArtifactArgument> arguments;
  std::vector<TensorSpec> outputs;

  /// Reads DIR/model.json; errors name the file and the field.
  static llvm::Expected<ArtifactManifest> read(llvm::StringRef dir);
  /// Fails unless this clusopt built the artifact and this CPU has the
  /// architecture and the features its target needs.
  llvm::Error checkRunsHere() const;
};

/// A loaded artifact: the model with its kernels, and what clusopt-run needs
/// to know of it.
struct LoadedArtifact {
  LoadedModel loaded;
  /// The compiled input shape [B, 3, H, W].
  llvm::SmallVector<int64_t, 4> inputShape;
  /// Tensors of the weights file that the model does not use.
  std::vector<std::string> unusedWeights;
};

/// Loads the artifact in `dir` (checked with checkRunsHere() before any of
/// its code is loaded) and binds its weights from `weightsPath` by name,
/// checking each one's dtype and shape. The model is an image classifier:
/// one f32 input [B, 3, H, W] and one f32 output [B, classes]; forward()
/// takes any batch, in runs of the compiled B (the last one zero-padded),
/// at the compiled H x W.
llvm::Expected<LoadedArtifact> loadArtifact(llvm::StringRef dir,
                                            llvm::StringRef weightsPath);

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_MODELS_ARTIFACT_H

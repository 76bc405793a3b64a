//===- PacaVit.h - PaCa-ViT on the runtime and generated kernels -*- C++
//-*-===//
//
// PaCa-ViT (docs/models.md) built from the runtime's layers and two generated
// kernels (paca_kernels.mlir): `assign_pool` (soft_assign fused into pool)
// and `attention`. Weights come from a safetensors file with the PyTorch
// state_dict names; every tensor is checked against the config on load.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_MODELS_PACAVIT_H
#define CLUSOPT_RUNTIME_MODELS_PACAVIT_H

#include "runtime/KernelLibrary.h"
#include "runtime/models/Model.h"

#include <array>
#include <string>
#include <vector>

namespace clusopt::runtime {

struct PacaConfig {
  std::string name;
  std::array<int64_t, 4> dims, heads, depths;
  std::array<int64_t, 4> clusters = {100, 100, 100, 0};
  int64_t mlpRatio = 4;
  int64_t numClasses = 1000;
  float eps = 1e-6f;

  /// "paca_tiny", "paca_small" or "paca_base" (the "paca_" is optional),
  /// with "_dense" appended for clusters [0, 0, 0, 0].
  static llvm::Expected<PacaConfig> byName(llvm::StringRef name);
  /// Every weight's name and shape, in state_dict order.
  WeightShapes weightShapes() const;
};

class PacaVit : public Model {
public:
  /// Checks and loads every weight of `config` from `weights` (errors name
  /// the tensor) and checks that `kernels` has the entry points it needs.
  static llvm::Expected<std::unique_ptr<PacaVit>>
  load(const PacaConfig &config, const SafetensorsFile &weights,
       const KernelLibrary &kernels);

  const PacaConfig &config() const { return config_; }
  const std::string &name() const override { return config_.name; }
  int64_t resolutionMultiple() const override { return 32; }
  int64_t numClasses() const override { return config_.numClasses; }
  int64_t defaultResolution() const override { return 224; }

  /// images [B, 3, H, W] f32 (H and W multiples of 32) -> logits [B,
  /// classes]. With `profile`, adds each layer's wall time to it.
  llvm::Expected<Tensor> forward(const Tensor &images,
                                 Profile *profile = nullptr) const override;

private:
  struct Norm {
    Tensor weight, bias;
  };
  struct Block {
    Norm norm1, norm2, clusterNorm;
    // Clustering net (block 0 of stages with clusters): dw7, 1x1, 1x1.
    Conv2d clusterDw;
    Linear clusterMix, clusterLogits;
    Linear q, k, v, proj, fc1, fc2;
    Conv2d dwconv;
  };
  struct Stage {
    std::vector<Block> blocks;
    Norm norm;
    Conv2d transition;
    Norm transitionNorm;
  };

  explicit PacaVit(const PacaConfig &config, const KernelLibrary &kernels)
      : config_(config), kernels_(kernels) {}

  llvm::Expected<Tensor> block(const Block &b, int stage, bool first,
                               const Tensor &x, int64_t h, int64_t w,
                               Tensor &logits, Profile *profile) const;

  PacaConfig config_;
  const KernelLibrary &kernels_;
  Conv2d stem0, stem1;
  Norm stemNorm;
  std::array<Stage, 4> stages;
  Linear head;
};

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_MODELS_PACAVIT_H

//===- ClusTR.h - ClusTR on the runtime and generated kernels ---*- C++ -*-===//
//
// ClusTR (docs/models.md) built from the runtime's layers and the generated
// kernels of clustr_kernels.mlir: `dpc_knn_m<M1>` (density-peak clustering
// at M1 and 4·M1 clusters), `aggregate_m<M>` (weighted means of the
// clusters), `attention2` (two-scale attention) and `attention` (stage 4).
// Weights come from a safetensors file with the PyTorch state_dict names;
// every tensor is checked against the config on load.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_MODELS_CLUSTR_H
#define CLUSOPT_RUNTIME_MODELS_CLUSTR_H

#include "runtime/KernelLibrary.h"
#include "runtime/Layers.h"
#include "runtime/Safetensors.h"
#include "runtime/models/Model.h"

#include <array>
#include <string>
#include <vector>

namespace clusopt::runtime {

struct ClusTRConfig {
  std::string name;
  std::array<int64_t, 4> dims, heads, depths;
  std::array<int64_t, 4> srRatios = {8, 4, 2, 1};
  std::array<int64_t, 4> mlpRatios = {8, 8, 4, 4};
  int64_t kNearest = 5;
  int64_t numClasses = 1000;

  /// "clustr_b1", "clustr_b2" or "clustr_b3" (the "clustr_" is optional).
  static llvm::Expected<ClusTRConfig> byName(llvm::StringRef name);
  /// Every weight's name and shape, in state_dict order.
  WeightShapes weightShapes() const;
};

class ClusTR : public Model {
public:
  /// Checks and loads every weight of `config` from `weights` (errors name
  /// the tensor) and checks that `kernels` has the attention entry points.
  /// The dpc_knn and aggregate ones depend on the resolution: `forward`
  /// checks those.
  static llvm::Expected<std::unique_ptr<ClusTR>>
  load(const ClusTRConfig &config, const SafetensorsFile &weights,
       const KernelLibrary &kernels);

  const ClusTRConfig &config() const { return config_; }
  const std::string &name() const override { return config_.name; }
  int64_t resolutionMultiple() const override { return 32; }
  int64_t numClasses() const override { return config_.numClasses; }
  int64_t defaultResolution() const override { return 224; }

  /// One clustered block's dpc_knn results: assign [B, 2, N] and centres
  /// [B, 2, 4·M1] (i32; unused slots -1).
  struct Clustering {
    Tensor assign, centers;
  };

  /// images [B, 3, H, W] f32 (H and W multiples of 32) -> logits [B,
  /// classes]. With `profile`, adds each layer's wall time to it. With
  /// `clusterings`, appends each clustered block's dpc_knn results in block
  /// order, so tests can check the discrete choices against a reference.
  llvm::Expected<Tensor>
  forwardWithClusterings(const Tensor &images, Profile *profile,
                         std::vector<Clustering> *clusterings) const;
  llvm::Expected<Tensor> forward(const Tensor &images,
                                 Profile *profile = nullptr) const override {
    return forwardWithClusterings(images, profile, nullptr);
  }

private:
  struct Norm {
    Tensor weight, bias;
  };
  struct Block {
    Norm norm1, norm2;
    Linear q, weightLayer, kv1, kv2, kv, proj, fc1, fc2;
    Conv2d dwconv;
  };
  struct Stage {
    Conv2d patchEmbed;
    Norm patchNorm;
    std::vector<Block> blocks;
    Norm norm;
  };

  explicit ClusTR(const ClusTRConfig &config, const KernelLibrary &kernels)
      : config_(config), kernels_(kernels) {}

  llvm::Expected<Tensor> block(const Block &b, int stage, const Tensor &x,
                               int64_t h, int64_t w, Profile *profile,
                               std::vector<Clustering> *clusterings) const;

  ClusTRConfig config_;
  const KernelLibrary &kernels_;
  std::array<Stage, 4> stages;
  Linear head;
};

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_MODELS_CLUSTR_H

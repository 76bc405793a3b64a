//===- CastVit.h - CAST-ViT and ViT-dense on the runtime --------*- C++ -*-===//
//
// CAST-ViT (docs/models.md): a DeiT-Tiny-like ViT whose attention is
// `clus.topk_members` over surrogate affinities followed by
// `clus.cluster_attention`, both generated kernels (cast_kernels.mlir).
// ViT-dense (docs/models.md) is the same model and weights with plain softmax
// attention, the generated `clus.attention` kernel with the tokens as keys.
//
// The token count N comes from the weights (pos_embed [1, N, C]), and so
// does the depth (the blocks.{j} present); the images must be the
// resolution N implies.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_MODELS_CASTVIT_H
#define CLUSOPT_RUNTIME_MODELS_CASTVIT_H

#include "runtime/KernelLibrary.h"
#include "runtime/models/Model.h"

#include <string>
#include <vector>

namespace clusopt::runtime {

struct CastConfig {
  std::string name;
  /// ViT-dense: plain softmax attention, the surrogates unused.
  bool dense = false;
  int64_t dim = 192, heads = 3, depth = 12, patch = 16, clusters = 14;
  int64_t mlpRatio = 4, numClasses = 1000;
  /// Tokens: (resolution / patch)².
  int64_t tokens = 196;
  float eps = 1e-6f;

  /// "cast_vit" or "vit_dense", at 224 with 12 blocks.
  static llvm::Expected<CastConfig> byName(llvm::StringRef name);
  /// The config with the token count and depth these weights have: N from
  /// pos_embed (a square number of patches) and the depth from the
  /// blocks.{j}.norm1.weight present.
  llvm::Expected<CastConfig> fitTo(const SafetensorsFile &weights) const;

  int64_t side() const;
  int64_t resolution() const { return side() * patch; }
  /// κ = 2·N/M, at least 1.
  int64_t capacity() const;
  /// The kernel entry point for topk_members at this capacity (the
  /// capacity is a static attribute of the op).
  std::string topkEntry() const;
  /// Every weight's name and shape, in state_dict order (ViT-dense uses
  /// the same weights).
  WeightShapes weightShapes() const;
};

class CastVit : public Model {
public:
  /// Checks and loads every weight of `config` from `weights` (errors name
  /// the tensor; tensors the config does not use are errors too) and checks
  /// that `kernels` has the entry points it needs.
  static llvm::Expected<std::unique_ptr<CastVit>>
  load(const CastConfig &config, const SafetensorsFile &weights,
       const KernelLibrary &kernels);

  const CastConfig &config() const { return config_; }
  const std::string &name() const override { return config_.name; }
  int64_t resolutionMultiple() const override { return config_.patch; }
  int64_t numClasses() const override { return config_.numClasses; }
  int64_t defaultResolution() const override { return config_.resolution(); }

  /// images [B, 3, R, R] f32 with R the resolution the weights fix ->
  /// logits [B, classes].
  llvm::Expected<Tensor> forward(const Tensor &images,
                                 Profile *profile = nullptr) const override;

private:
  struct Norm {
    Tensor weight, bias;
  };
  struct Block {
    Norm norm1, norm2;
    Linear qkv, proj, fc1, fc2;
    // Per head h, S[h]·scale [M, D] as a Linear: Aq = q·(S·scale)ᵀ.
    std::vector<Linear> surrogates;
  };

  CastVit(const CastConfig &config, const KernelLibrary &kernels)
      : config_(config), kernels_(kernels) {}

  static llvm::Error loadSurrogates(Block &b, const Tensor &surrogates);
  llvm::Expected<Tensor> block(const Block &b, const Tensor &x,
                               Profile *profile) const;
  llvm::Expected<Tensor> castAttention(const Block &b, const Tensor &q,
                                       const Tensor &k, const Tensor &v,
                                       Profile *profile) const;

  CastConfig config_;
  const KernelLibrary &kernels_;
  Conv2d patchEmbed;
  Tensor posEmbed; // [1, N, C]
  std::vector<Block> blocks;
  Norm norm;
  Linear head;
};

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_MODELS_CASTVIT_H

//===- PacaVit.cpp - PaCa-ViT on the runtime and generated kernels --------===//

#include "runtime/models/PacaVit.h"

#include "llvm/Support/FormatVariadic.h"

using namespace clusopt::runtime;
using llvm::Error;
using llvm::Expected;

Expected<PacaConfig> PacaConfig::byName(llvm::StringRef name) {
  PacaConfig c;
  llvm::StringRef size = name;
  size.consume_front("paca_");
  // "_dense": clusters [0, 0, 0, 0], plain self-attention in every stage
  // (docs/models.md), the speed baseline.
  bool dense = size.consume_back("_dense");
  c.name = ("paca_" + size + (dense ? "_dense" : "")).str();
  if (dense)
    c.clusters = {0, 0, 0, 0};
  if (size == "tiny" || size == "small")
    c.dims = {96, 192, 320, 384};
  else if (size == "base")
    c.dims = {96, 192, 384, 512};
  else
    return llvm::createStringError(
        "unknown model '" + name.str() +
        "' (known: paca_tiny, paca_small, paca_base, each also as "
        "*_dense)");
  c.heads = {2, 4, 8, 16};
  if (size == "tiny")
    c.depths = {2, 2, 4, 2};
  else if (size == "small")
    c.depths = {3, 3, 10, 3};
  else
    c.depths = {3, 3, 18, 3};
  return c;
}

WeightShapes PacaConfig::weightShapes() const {
  WeightShapes s;
  int64_t d0 = dims[0];
  s.add("patch_embed.proj.0.weight", {d0 / 2, 3, 3, 3});
  s.add("patch_embed.proj.0.bias", {d0 / 2});
  s.add("patch_embed.proj.1.weight", {d0, d0 / 2, 3, 3});
  s.add("patch_embed.proj.1.bias", {d0});
  s.norm("patch_embed.norm", d0);
  for (int i = 0; i < 4; ++i) {
    int64_t c = dims[i], m = clusters[i], hidden = mlpRatio * c;
    for (int64_t j = 0; j < depths[i]; ++j) {
      std::string p = llvm::formatv("stage{0}.{1}.", i + 1, j).str();
      s.norm(p + "norm1_before", c);
      if (m > 0 && j == 0) {
        std::string q = p + "attn.clustering.clustering.";
        s.add(q + "0.weight", {c, 1, 7, 7});
        s.add(q + "0.bias", {c});
        s.add(q + "2.weight", {c, c, 1, 1});
        s.add(q + "2.bias", {c});
        s.add(q + "4.weight", {m, c, 1, 1});
      }
      if (m > 0) {
        s.norm(p + "attn.cluster_norm", c);
      }
      for (const char *proj : {"q", "k", "v", "proj"})
        s.linear(p + "attn." + proj, c, c);
      s.norm(p + "norm2_before", c);
      s.convMlp(p + "mlp.", c, hidden);
    }
    s.norm(llvm::formatv("norm{0}", i + 1).str(), c);
    if (i + 1 < 4) {
      std::string t = llvm::formatv("transition{0}.", i + 1).str();
      s.add(t + "proj.weight", {dims[i + 1], c, 3, 3});
      s.add(t + "proj.bias", {dims[i + 1]});
      s.norm(t + "norm", dims[i + 1]);
    }
  }
  s.linear("head", numClasses, dims[3]);
  return s;
}

Expected<std::unique_ptr<PacaVit>> PacaVit::load(const PacaConfig &config,
                                                 const SafetensorsFile &weights,
                                                 const KernelLibrary &kernels) {
  for (const char *entry : {"assign_pool", "attention"})
    if (!kernels.find(entry))
      return llvm::createStringError(
          llvm::formatv("kernel library {0} has no entry point '{1}' (build "
                        "it from runtime/models/paca_kernels.mlir)",
                        kernels.path(), entry)
              .str());
  std::unique_ptr<PacaVit> model(new PacaVit(config, kernels));
  WeightLoader load(weights, config.weightShapes());
  ASSIGN_OR_RETURN(model->stem0, load.conv("patch_embed.proj.0", 2, 1, 1));
  ASSIGN_OR_RETURN(model->stem1, load.conv("patch_embed.proj.1", 2, 1, 1));
  RETURN_IF_ERROR(load.norm("patch_embed.norm", model->stemNorm.weight,
                            model->stemNorm.bias));
  for (int i = 0; i < 4; ++i) {
    Stage &stage = model->stages[i];
    int64_t hidden = config.mlpRatio * config.dims[i];
    for (int64_t j = 0; j < config.depths[i]; ++j) {
      Block &b = stage.blocks.emplace_back();
      std::string p = llvm::formatv("stage{0}.{1}.", i + 1, j).str();
      RETURN_IF_ERROR(
          load.norm(p + "norm1_before", b.norm1.weight, b.norm1.bias));
      if (config.clusters[i] > 0 && j == 0) {
        std::string q = p + "attn.clustering.clustering.";
        ASSIGN_OR_RETURN(b.clusterDw, load.conv(q + "0", 1, 3, config.dims[i]));
        ASSIGN_OR_RETURN(b.clusterMix, load.linear(q + "2"));
        ASSIGN_OR_RETURN(b.clusterLogits, load.linear(q + "4", false));
      }
      if (config.clusters[i] > 0)
        RETURN_IF_ERROR(load.norm(p + "attn.cluster_norm", b.clusterNorm.weight,
                                  b.clusterNorm.bias));
      ASSIGN_OR_RETURN(b.q, load.linear(p + "attn.q"));
      ASSIGN_OR_RETURN(b.k, load.linear(p + "attn.k"));
      ASSIGN_OR_RETURN(b.v, load.linear(p + "attn.v"));
      ASSIGN_OR_RETURN(b.proj, load.linear(p + "attn.proj"));
      RETURN_IF_ERROR(
          load.norm(p + "norm2_before", b.norm2.weight, b.norm2.bias));
      ASSIGN_OR_RETURN(b.fc1, load.linear(p + "mlp.fc1"));
      ASSIGN_OR_RETURN(b.dwconv,
                       load.conv(p + "mlp.dwconv.dwconv", 1, 1, hidden));
      ASSIGN_OR_RETURN(b.fc2, load.linear(p + "mlp.fc2"));
    }
    RETURN_IF_ERROR(load.norm(llvm::formatv("norm{0}", i + 1).str(),
                              stage.norm.weight, stage.norm.bias));
    if (i + 1 < 4) {
      std::string t = llvm::formatv("transition{0}.", i + 1).str();
      ASSIGN_OR_RETURN(stage.transition, load.conv(t + "proj", 2, 1, 1));
      RETURN_IF_ERROR(load.norm(t + "norm", stage.transitionNorm.weight,
                                stage.transitionNorm.bias));
    }
  }
  ASSIGN_OR_RETURN(model->head, load.linear("head"));
  return model;
}

Expected<Tensor> PacaVit::block(const Block &b, int stage, bool first,
                                const Tensor &x, int64_t h, int64_t w,
                                Tensor &logits, Profile *profile) const {
  std::string s = "stage" + std::to_string(stage + 1) + " ";
  int64_t heads = config_.heads[stage];
  float eps = config_.eps;
  Tensor a, ctok, q, k, v, o;
  {
    Timer timer(profile, s + "layer_norm", {&a});
    ASSIGN_OR_RETURN(a, layerNorm(x, b.norm1.weight, b.norm1.bias, eps));
  }
  if (config_.clusters[stage] > 0) {
    if (first) {
      // The clustering net on `a` as an image: dw7, GELU, 1x1, GELU, 1x1
      // (the 1x1 convolutions as Linears on tokens), then logits [B, M, N].
      Timer timer(profile, s + "clustering net", {&logits});
      Tensor c;
      ASSIGN_OR_RETURN(c, b.clusterDw.onTokens(a, h, w, /*addInput=*/false,
                                               /*gelu=*/true));
      ASSIGN_OR_RETURN(c, b.clusterMix(c, /*gelu=*/true));
      ASSIGN_OR_RETURN(c, b.clusterLogits(c));
      ASSIGN_OR_RETURN(logits, transposeLast(c));
    }
    {
      Timer timer(profile, s + "assign_pool (kernel)", {&ctok});
      std::vector<Tensor> r;
      ASSIGN_OR_RETURN(
          r, kernels_.call(pickEntry(kernels_,
                                     llvm::formatv("assign_pool_m{0}_c{1}",
                                                   logits.dim(1), a.dim(2))
                                         .str(),
                                     "assign_pool"),
                           {logits, a}));
      ctok = std::move(r[0]);
    }
    Timer timer(profile, s + "layer_norm", {&ctok});
    ASSIGN_OR_RETURN(
        ctok, layerNorm(ctok, b.clusterNorm.weight, b.clusterNorm.bias, eps));
  } else {
    ctok = a;
  }
  {
    Timer timer(profile, s + "linear q/k/v/proj", {&q, &k, &v});
    ASSIGN_OR_RETURN(q, b.q.toHeads(a, heads));
    ASSIGN_OR_RETURN(k, b.k.toHeads(ctok, heads));
    ASSIGN_OR_RETURN(v, b.v.toHeads(ctok, heads));
  }
  {
    Timer timer(profile, s + "attention (kernel)", {&o});
    ASSIGN_OR_RETURN(o, callAttention(kernels_, q, k, v));
  }
  return projectAndConvMlp(
      x, o, {b.proj, b.norm2.weight, b.norm2.bias, b.fc1, b.dwconv, b.fc2}, eps,
      h, w, profile, s, "linear q/k/v/proj");
}

Expected<Tensor> PacaVit::forward(const Tensor &images,
                                  Profile *profile) const {
  if (images.dtype() != DType::F32 || images.rank() != 4 ||
      images.dim(1) != 3 || images.dim(2) % 32 || images.dim(3) % 32 ||
      images.dim(2) == 0 || images.dim(3) == 0 || images.dim(0) < 1)
    return llvm::createStringError(
        llvm::formatv("{0}: images must be f32 [B, 3, H, W] with H and W "
                      "positive multiples of 32, got {1} {2}",
                      config_.name, dtypeName(images.dtype()),
                      shapeString(images.shape()))
            .str());
  float eps = config_.eps;
  Tensor t;
  int64_t h = images.dim(2), w = images.dim(3);
  {
    // Everything runs on tokens [B, H·W, C]: LN2d on tokens is LayerNorm.
    Timer timer(profile, "stem", {&t});
    ASSIGN_OR_RETURN(t, imageToTokens(images));
    ASSIGN_OR_RETURN(t, stem0.onTokens(t, h, w));
    h = stem0.outputSize(h), w = stem0.outputSize(w);
    ASSIGN_OR_RETURN(t, stem1.onTokens(t, h, w));
    h = stem1.outputSize(h), w = stem1.outputSize(w);
    ASSIGN_OR_RETURN(t, layerNorm(t, stemNorm.weight, stemNorm.bias, eps));
  }
  for (int i = 0; i < 4; ++i) {
    const Stage &stage = stages[i];
    // Cluster logits [B, M, N] of block 0, reused by the later blocks.
    Tensor clusterLogits;
    for (size_t j = 0; j < stage.blocks.size(); ++j) {
      if (profile)
        profile->setBlock(llvm::formatv("stage{0}.{1}", i + 1, j).str());
      ASSIGN_OR_RETURN(t, block(stage.blocks[j], i, j == 0, t, h, w,
                                clusterLogits, profile));
    }
    if (profile)
      profile->setBlock("");
    Timer timer(profile, i + 1 < 4 ? "stage norm + transition" : "head", {&t});
    ASSIGN_OR_RETURN(t, layerNorm(t, stage.norm.weight, stage.norm.bias, eps));
    if (i + 1 < 4) {
      ASSIGN_OR_RETURN(t, stage.transition.onTokens(t, h, w));
      h = stage.transition.outputSize(h), w = stage.transition.outputSize(w);
      ASSIGN_OR_RETURN(t, layerNorm(t, stage.transitionNorm.weight,
                                    stage.transitionNorm.bias, eps));
    }
  }
  Timer timer(profile, "head");
  Tensor pooled;
  ASSIGN_OR_RETURN(pooled, meanTokens(t));
  return head(pooled);
}

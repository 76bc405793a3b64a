//===- ClusTR.cpp - ClusTR on the runtime and generated kernels -----------===//

#include "runtime/models/ClusTR.h"
#include "runtime/ThreadPool.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>

using namespace clusopt::runtime;
using llvm::Error;
using llvm::Expected;

Expected<ClusTRConfig> ClusTRConfig::byName(llvm::StringRef name) {
  ClusTRConfig c;
  llvm::StringRef size = name;
  size.consume_front("clustr_");
  c.name = ("clustr_" + size).str();
  if (size == "b1" || size == "b2") {
    c.dims = {64, 128, 256, 512};
    c.heads = {1, 2, 4, 8};
  } else if (size == "b3") {
    c.dims = {64, 128, 320, 512};
    c.heads = {1, 2, 5, 8};
  } else {
    return llvm::createStringError(
        "unknown model '" + name.str() +
        "' (known: clustr_b1, clustr_b2, clustr_b3)");
  }
  if (size == "b1")
    c.depths = {1, 2, 6, 1};
  else if (size == "b2")
    c.depths = {3, 5, 13, 2};
  else
    c.depths = {3, 5, 18, 3};
  return c;
}

WeightShapes ClusTRConfig::weightShapes() const {
  WeightShapes s;
  for (int i = 0; i < 4; ++i) {
    int64_t c = dims[i], cin = i == 0 ? 3 : dims[i - 1], k = i == 0 ? 7 : 3;
    int64_t hidden = mlpRatios[i] * c;
    std::string p = llvm::formatv("patch_embed{0}.", i + 1).str();
    s.add(p + "proj.weight", {c, cin, k, k});
    s.add(p + "proj.bias", {c});
    s.norm(p + "norm", c);
    for (int64_t j = 0; j < depths[i]; ++j) {
      p = llvm::formatv("block{0}.{1}.", i + 1, j).str();
      s.norm(p + "norm1", c);
      s.linear(p + "attn.q", c, c);
      if (srRatios[i] > 1) {
        s.linear(p + "attn.weight_layer", 1, c);
        for (const char *kv : {"kv1", "kv2"})
          s.linear(p + "attn." + kv, 2 * c, c);
      } else {
        s.linear(p + "attn.kv", 2 * c, c);
      }
      s.linear(p + "attn.proj", c, c);
      s.norm(p + "norm2", c);
      s.convMlp(p + "mlp.", c, hidden);
    }
    s.norm(llvm::formatv("norm{0}", i + 1).str(), c);
  }
  s.linear("head", numClasses, dims[3]);
  return s;
}

Expected<std::unique_ptr<ClusTR>> ClusTR::load(const ClusTRConfig &config,
                                               const SafetensorsFile &weights,
                                               const KernelLibrary &kernels) {
  for (const char *entry : {"attention", "attention2"})
    if (!kernels.find(entry))
      return llvm::createStringError(
          llvm::formatv("kernel library {0} has no entry point '{1}' (build "
                        "it from runtime/models/clustr_kernels.mlir)",
                        kernels.path(), entry)
              .str());
  std::unique_ptr<ClusTR> model(new ClusTR(config, kernels));
  WeightLoader load(weights, config.weightShapes());
  for (int i = 0; i < 4; ++i) {
    Stage &stage = model->stages[i];
    int64_t hidden = config.mlpRatios[i] * config.dims[i];
    std::string p = llvm::formatv("patch_embed{0}.", i + 1).str();
    ASSIGN_OR_RETURN(stage.patchEmbed, i == 0 ? load.conv(p + "proj", 4, 3, 1)
                                              : load.conv(p + "proj", 2, 1, 1));
    RETURN_IF_ERROR(
        load.norm(p + "norm", stage.patchNorm.weight, stage.patchNorm.bias));
    for (int64_t j = 0; j < config.depths[i]; ++j) {
      Block &b = stage.blocks.emplace_back();
      p = llvm::formatv("block{0}.{1}.attn.", i + 1, j).str();
      std::string q = llvm::formatv("block{0}.{1}.", i + 1, j).str();
      RETURN_IF_ERROR(load.norm(q + "norm1", b.norm1.weight, b.norm1.bias));
      ASSIGN_OR_RETURN(b.q, load.linear(p + "q"));
      if (config.srRatios[i] > 1) {
        ASSIGN_OR_RETURN(b.weightLayer, load.linear(p + "weight_layer"));
        ASSIGN_OR_RETURN(b.kv1, load.linear(p + "kv1"));
        ASSIGN_OR_RETURN(b.kv2, load.linear(p + "kv2"));
      } else {
        ASSIGN_OR_RETURN(b.kv, load.linear(p + "kv"));
      }
      ASSIGN_OR_RETURN(b.proj, load.linear(p + "proj"));
      RETURN_IF_ERROR(load.norm(q + "norm2", b.norm2.weight, b.norm2.bias));
      ASSIGN_OR_RETURN(b.fc1, load.linear(q + "mlp.fc1"));
      ASSIGN_OR_RETURN(b.dwconv,
                       load.conv(q + "mlp.dwconv.dwconv", 1, 1, hidden));
      ASSIGN_OR_RETURN(b.fc2, load.linear(q + "mlp.fc2"));
    }
    RETURN_IF_ERROR(load.norm(llvm::formatv("norm{0}", i + 1).str(),
                              stage.norm.weight, stage.norm.bias));
  }
  ASSIGN_OR_RETURN(model->head, load.linear("head"));
  return model;
}

namespace {

// kv [B, M, 2·C] viewed as [B, M, 2, heads, d] -> K and V [B, heads, M, d]
// (index 0 and 1 of the "2" axis).
Error splitKv(const Tensor &kv, int64_t heads, Tensor &k, Tensor &v) {
  int64_t b = kv.dim(0), m = kv.dim(1), c = kv.dim(2) / 2, d = c / heads;
  auto kt = Tensor::empty(DType::F32, {b, heads, m, d});
  if (!kt)
    return kt.takeError();
  auto vt = Tensor::empty(DType::F32, {b, heads, m, d});
  if (!vt)
    return vt.takeError();
  const float *in = kv.data<float>();
  float *ko = kt->data<float>(), *vo = vt->data<float>();
  ThreadPool::parallelFor(0, b * m, [&](int64_t row) {
    int64_t bi = row / m, t = row % m;
    for (int64_t hd = 0; hd < heads; ++hd) {
      size_t dst = ((bi * heads + hd) * m + t) * d;
      std::memcpy(ko + dst, in + row * 2 * c + hd * d, d * sizeof(float));
      std::memcpy(vo + dst, in + row * 2 * c + c + hd * d, d * sizeof(float));
    }
  });
  k = std::move(*kt);
  v = std::move(*vt);
  return Error::success();
}

// Scale s of dpc_knn's assign [B, S, N] as a fresh [B, N].
Expected<Tensor> scaleOf(const Tensor &assign, int64_t s) {
  int64_t b = assign.dim(0), scales = assign.dim(1), n = assign.dim(2);
  auto out = Tensor::empty(DType::I32, {b, n});
  if (!out)
    return out.takeError();
  for (int64_t i = 0; i < b; ++i)
    std::memcpy(out->data<int32_t>() + i * n,
                assign.data<int32_t>() + (i * scales + s) * n,
                n * sizeof(int32_t));
  return out;
}

std::string dpcEntry(int64_t m1) { return "dpc_knn_m" + std::to_string(m1); }
std::string aggregateEntry(int64_t m) {
  return "aggregate_m" + std::to_string(m);
}

} // namespace

Expected<Tensor> ClusTR::block(const Block &b, int stage, const Tensor &x,
                               int64_t h, int64_t w, Profile *profile,
                               std::vector<Clustering> *clusterings) const {
  std::string s = "stage" + std::to_string(stage + 1) + " ";
  int64_t heads = config_.heads[stage], sr = config_.srRatios[stage];
  int64_t batch = x.dim(0), n = x.dim(1);
  const float eps = 1e-6f;
  Tensor a, q, o;
  {
    Timer timer(profile, s + "layer_norm", {&a});
    ASSIGN_OR_RETURN(a, layerNorm(x, b.norm1.weight, b.norm1.bias, eps));
  }
  {
    Timer timer(profile, s + "linear q/kv/proj", {&q});
    ASSIGN_OR_RETURN(q, b.q.toHeads(a, heads));
  }
  if (sr > 1) {
    Tensor weights, assign;
    {
      // w = exp(a·Ww + bw), one weight per token for the weighted means.
      Timer timer(profile, s + "weight_layer", {&weights});
      ASSIGN_OR_RETURN(weights, b.weightLayer(a));
      ASSIGN_OR_RETURN(weights, weights.reshape({batch, n}));
      float *p = weights.data<float>();
      for (int64_t i = 0; i < weights.numElements(); ++i)
        p[i] = std::exp(p[i]);
    }
    int64_t m1 = n / (sr * sr);
    // The kernel has no error channel for M > N (clus.dpc_knn), so check here.
    if (m1 < 1 || 4 * m1 > n)
      return llvm::createStringError(
          llvm::formatv("{0}: stage {1} has {2} tokens, too few for {3} "
                        "and {4} clusters",
                        config_.name, stage + 1, n, m1, 4 * m1)
              .str());
    {
      Timer timer(profile, s + "dpc_knn (kernel)");
      std::vector<Tensor> r;
      ASSIGN_OR_RETURN(r, kernels_.call(dpcEntry(m1), {a}));
      assign = std::move(r[0]);
      if (clusterings)
        clusterings->push_back({assign, std::move(r[1])});
    }
    Tensor k[2], v[2];
    for (int64_t sc = 0; sc < 2; ++sc) {
      Tensor xs;
      {
        Timer timer(profile, s + "aggregate (kernel)", {&xs});
        Tensor one;
        ASSIGN_OR_RETURN(one, scaleOf(assign, sc));
        std::vector<Tensor> r;
        ASSIGN_OR_RETURN(r, kernels_.call(aggregateEntry(sc ? 4 * m1 : m1),
                                          {a, one, weights}));
        xs = std::move(r[0]);
      }
      Timer timer(profile, s + "linear q/kv/proj", {&k[sc], &v[sc]});
      Tensor kv;
      ASSIGN_OR_RETURN(kv, (sc ? b.kv2 : b.kv1)(xs));
      RETURN_IF_ERROR(splitKv(kv, heads, k[sc], v[sc]));
    }
    Timer timer(profile, s + "attention (kernel)", {&o});
    std::vector<Tensor> r;
    ASSIGN_OR_RETURN(r,
                     kernels_.call("attention2", {q, k[0], v[0], k[1], v[1]}));
    o = std::move(r[0]);
  } else {
    Tensor kv, k, v;
    {
      Timer timer(profile, s + "linear q/kv/proj", {&k, &v});
      ASSIGN_OR_RETURN(kv, b.kv(a));
      RETURN_IF_ERROR(splitKv(kv, heads, k, v));
    }
    Timer timer(profile, s + "attention (kernel)", {&o});
    ASSIGN_OR_RETURN(o, callAttention(kernels_, q, k, v));
  }
  return projectAndConvMlp(
      x, o, {b.proj, b.norm2.weight, b.norm2.bias, b.fc1, b.dwconv, b.fc2}, eps,
      h, w, profile, s, "linear q/kv/proj");
}

Expected<Tensor>
ClusTR::forwardWithClusterings(const Tensor &images, Profile *profile,
                               std::vector<Clustering> *clusterings) const {
  if (images.dtype() != DType::F32 || images.rank() != 4 ||
      images.dim(1) != 3 || images.dim(2) % 32 || images.dim(3) % 32 ||
      images.dim(2) == 0 || images.dim(3) == 0 || images.dim(0) < 1)
    return llvm::createStringError(
        llvm::formatv("{0}: images must be f32 [B, 3, H, W] with H and W "
                      "positive multiples of 32, got {1} {2}",
                      config_.name, dtypeName(images.dtype()),
                      shapeString(images.shape()))
            .str());
  // Every clustered stage has N / sr² = (H/32)·(W/32) clusters at the first
  // scale and 4 times that at the second; the kernels for those counts are
  // compiled ahead of time, so check them before any work.
  int64_t hi = images.dim(2), wi = images.dim(3), m1 = (hi / 32) * (wi / 32);
  for (const std::string &entry :
       {dpcEntry(m1), aggregateEntry(m1), aggregateEntry(4 * m1)})
    if (!kernels_.find(entry))
      return llvm::createStringError(
          llvm::formatv("{0}: resolution {1}x{2} needs {3} and {4} clusters, "
                        "but kernel library {5} has no entry point '{6}' "
                        "(clustr_kernels.mlir covers the square resolutions "
                        "32 to 384; add dpc_knn_m{3}, aggregate_m{3} and "
                        "aggregate_m{4} there)",
                        config_.name, hi, wi, m1, 4 * m1, kernels_.path(),
                        entry)
              .str());
  // Everything runs on tokens [B, H·W, C], the patch embeddings too.
  Tensor t;
  int64_t h = hi, w = wi;
  {
    Timer timer(profile, "stage1 patch_embed", {&t});
    ASSIGN_OR_RETURN(t, imageToTokens(images));
  }
  for (int i = 0; i < 4; ++i) {
    const Stage &stage = stages[i];
    std::string s = "stage" + std::to_string(i + 1) + " ";
    {
      Timer timer(profile, s + "patch_embed", {&t});
      ASSIGN_OR_RETURN(t, stage.patchEmbed.onTokens(t, h, w));
      h = stage.patchEmbed.outputSize(h), w = stage.patchEmbed.outputSize(w);
      ASSIGN_OR_RETURN(
          t, layerNorm(t, stage.patchNorm.weight, stage.patchNorm.bias, 1e-5f));
    }
    for (size_t j = 0; j < stage.blocks.size(); ++j) {
      if (profile)
        profile->setBlock(llvm::formatv("stage{0}.{1}", i + 1, j).str());
      ASSIGN_OR_RETURN(
          t, block(stage.blocks[j], i, t, h, w, profile, clusterings));
    }
    if (profile)
      profile->setBlock("");
    Timer timer(profile, i + 1 < 4 ? s + "norm" : "head", {&t});
    ASSIGN_OR_RETURN(t,
                     layerNorm(t, stage.norm.weight, stage.norm.bias, 1e-6f));
  }
  Timer timer(profile, "head");
  Tensor pooled;
  ASSIGN_OR_RETURN(pooled, meanTokens(t));
  return head(pooled);
}

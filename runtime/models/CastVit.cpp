//===- CastVit.cpp - CAST-ViT and ViT-dense on the runtime ----------------===//

#include "runtime/models/CastVit.h"
#include "runtime/ThreadPool.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace clusopt::runtime;
using llvm::Error;
using llvm::Expected;

static Error castError(const llvm::Twine &message) {
  return llvm::createStringError(message.str());
}

Expected<CastConfig> CastConfig::byName(llvm::StringRef name) {
  CastConfig c;
  if (name == "cast_vit")
    c.dense = false;
  else if (name == "vit_dense")
    c.dense = true;
  else
    return castError("unknown model '" + name + "' (known: cast_vit, " +
                     "vit_dense)");
  c.name = name.str();
  return c;
}

Expected<CastConfig> CastConfig::fitTo(const SafetensorsFile &weights) const {
  CastConfig c = *this;
  const SafetensorsEntry *pos = weights.find("pos_embed");
  if (!pos)
    return weights.notFoundError("pos_embed");
  if (pos->shape.size() != 3 || pos->shape[0] != 1 || pos->shape[2] != dim)
    return castError(llvm::formatv("tensor 'pos_embed': expected shape [1, N, "
                                   "{0}], got {1}",
                                   dim, shapeString(pos->shape)));
  c.tokens = pos->shape[1];
  // Patches tile a square image: N must be a square.
  int64_t side = static_cast<int64_t>(std::llround(std::sqrt(c.tokens)));
  if (c.tokens < 1 || side * side != c.tokens)
    return castError(llvm::formatv("tensor 'pos_embed': {0} tokens are not "
                                   "a square grid of patches",
                                   c.tokens));
  c.depth = 0;
  while (weights.find(llvm::formatv("blocks.{0}.norm1.weight", c.depth).str()))
    ++c.depth;
  if (c.depth == 0)
    return weights.notFoundError("blocks.0.norm1.weight");
  // The depth is read from the weights, so a block with a missing norm1
  // would silently end the model early: reject any later block's tensors.
  for (const SafetensorsEntry &e : weights.tensors()) {
    llvm::StringRef rest = e.name;
    int64_t j;
    if (rest.consume_front("blocks.") && !rest.consumeInteger(10, j) &&
        j >= c.depth)
      return castError(llvm::formatv(
          "tensor '{0}': blocks.{1}.norm1.weight is missing, so the model "
          "would end after {1} blocks, yet block {2} has tensors (the depth "
          "is the number of consecutive blocks.{{j}.norm1.weight)",
          e.name, c.depth, j));
  }
  return c;
}

int64_t CastConfig::side() const {
  return static_cast<int64_t>(std::llround(std::sqrt(tokens)));
}

int64_t CastConfig::capacity() const {
  return std::max<int64_t>(1, 2 * tokens / clusters);
}

std::string CastConfig::topkEntry() const {
  return "topk_members_k" + std::to_string(capacity());
}

WeightShapes CastConfig::weightShapes() const {
  WeightShapes s;
  int64_t c = dim, hidden = mlpRatio * dim;
  s.add("pos_embed", {1, tokens, c});
  s.add("patch_embed.proj.weight", {c, 3, patch, patch});
  s.add("patch_embed.proj.bias", {c});
  for (int64_t j = 0; j < depth; ++j) {
    std::string p = llvm::formatv("blocks.{0}.", j).str();
    s.norm(p + "norm1", c);
    s.linear(p + "attn.qkv", 3 * c, c);
    if (!dense)
      s.add(p + "attn.surrogates", {heads, clusters, c / heads});
    else
      s.ignored.push_back(p + "attn.surrogates");
    s.linear(p + "attn.proj", c, c);
    s.norm(p + "norm2", c);
    s.linear(p + "mlp.fc1", hidden, c);
    s.linear(p + "mlp.fc2", c, hidden);
  }
  s.norm("norm", c);
  s.linear("head", numClasses, c);
  return s;
}

Expected<std::unique_ptr<CastVit>> CastVit::load(const CastConfig &config,
                                                 const SafetensorsFile &weights,
                                                 const KernelLibrary &kernels) {
  std::vector<std::string> entries;
  if (config.dense)
    entries = {"attention"};
  else
    entries = {config.topkEntry(), "cluster_attention"};
  for (const std::string &entry : entries) {
    if (kernels.find(entry))
      continue;
    std::string have;
    for (const EntryPoint &e : kernels.entryPoints())
      if (llvm::StringRef(e.name).starts_with("topk_members_k"))
        have += (have.empty() ? "" : ", ") + e.name;
    std::string why =
        entry == config.topkEntry()
            ? llvm::formatv(" (topk_members at capacity {0} = 2·{1}/{2}, for "
                            "{3}x{3} images; the capacity is static, so each "
                            "resolution needs its own entry; this library "
                            "has: {4}; add one to "
                            "runtime/models/cast_kernels.mlir)",
                            config.capacity(), config.tokens, config.clusters,
                            config.resolution(), have.empty() ? "none" : have)
                  .str()
            : " (build it from runtime/models/cast_kernels.mlir)";
    return castError(llvm::formatv("kernel library {0} has no entry point "
                                   "'{1}'{2}",
                                   kernels.path(), entry, why));
  }
  if (config.dim % config.heads)
    return castError(llvm::formatv("{0}: {1} channels do not split into {2} "
                                   "heads",
                                   config.name, config.dim, config.heads));

  std::unique_ptr<CastVit> model(new CastVit(config, kernels));
  WeightLoader load(weights, config.weightShapes());
  ASSIGN_OR_RETURN(model->patchEmbed,
                   load.conv("patch_embed.proj", config.patch, 0, 1));
  ASSIGN_OR_RETURN(model->posEmbed, load.get("pos_embed"));
  for (int64_t j = 0; j < config.depth; ++j) {
    Block &b = model->blocks.emplace_back();
    std::string p = llvm::formatv("blocks.{0}.", j).str();
    RETURN_IF_ERROR(load.norm(p + "norm1", b.norm1.weight, b.norm1.bias));
    ASSIGN_OR_RETURN(b.qkv, load.linear(p + "attn.qkv"));
    if (!config.dense) {
      Tensor s;
      ASSIGN_OR_RETURN(s, load.get(p + "attn.surrogates"));
      RETURN_IF_ERROR(loadSurrogates(b, s));
    }
    ASSIGN_OR_RETURN(b.proj, load.linear(p + "attn.proj"));
    RETURN_IF_ERROR(load.norm(p + "norm2", b.norm2.weight, b.norm2.bias));
    ASSIGN_OR_RETURN(b.fc1, load.linear(p + "mlp.fc1"));
    ASSIGN_OR_RETURN(b.fc2, load.linear(p + "mlp.fc2"));
  }
  RETURN_IF_ERROR(load.norm("norm", model->norm.weight, model->norm.bias));
  ASSIGN_OR_RETURN(model->head, load.linear("head"));
  return model;
}

Error CastVit::loadSurrogates(Block &b, const Tensor &s) {
  int64_t heads = s.dim(0), m = s.dim(1), d = s.dim(2);
  // scale = 1/sqrt(D) folded into S (exact for D = 64, a power of 4).
  float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (int64_t h = 0; h < heads; ++h) {
    Tensor w;
    ASSIGN_OR_RETURN(w, Tensor::empty(DType::F32, {m, d}));
    const float *src = s.data<float>() + h * m * d;
    float *dst = w.data<float>();
    for (int64_t i = 0; i < m * d; ++i)
      dst[i] = src[i] * scale;
    Linear l;
    ASSIGN_OR_RETURN(l, Linear::create(w, std::nullopt));
    b.surrogates.push_back(std::move(l));
  }
  return Error::success();
}

namespace {

// qkv [B, N, 3·C] in timm's layout (viewed [B, N, 3, H, D]) -> q, k, v
// [B, H, N, D] each.
Error splitQkv(const Tensor &qkv, int64_t heads, Tensor &q, Tensor &k,
               Tensor &v) {
  int64_t b = qkv.dim(0), n = qkv.dim(1), c = qkv.dim(2) / 3, d = c / heads;
  Tensor *parts[3] = {&q, &k, &v};
  for (Tensor *t : parts)
    ASSIGN_OR_RETURN(*t, Tensor::empty(DType::F32, {b, heads, n, d}));
  const float *in = qkv.data<float>();
  float *out[3] = {q.data<float>(), k.data<float>(), v.data<float>()};
  ThreadPool::parallelFor(0, b * n, [&](int64_t row) {
    int64_t bi = row / n, t = row % n;
    for (int part = 0; part < 3; ++part)
      for (int64_t h = 0; h < heads; ++h)
        std::memcpy(out[part] + ((bi * heads + h) * n + t) * d,
                    in + row * 3 * c + part * c + h * d, d * sizeof(float));
  });
  return Error::success();
}

} // namespace

Expected<Tensor> CastVit::castAttention(const Block &b, const Tensor &q,
                                        const Tensor &k, const Tensor &v,
                                        Profile *profile) const {
  int64_t batch = q.dim(0), heads = q.dim(1), n = q.dim(2), d = q.dim(3),
          m = config_.clusters;
  Tensor aq, ak, g, members;
  {
    // Aq = q·Sᵀ·scale and Ak = k·Sᵀ·scale [B, H, N, M] per (batch, head)
    // on the packed GEMM (the surrogates are a tiny [M, D] weight), then
    // their mean over heads G [B, N, M].
    Timer timer(profile, "affinities Aq/Ak/G", {&aq, &ak, &g});
    ASSIGN_OR_RETURN(aq, Tensor::empty(DType::F32, {batch, heads, n, m}));
    ASSIGN_OR_RETURN(ak, Tensor::empty(DType::F32, {batch, heads, n, m}));
    ASSIGN_OR_RETURN(g, Tensor::empty(DType::F32, {batch, n, m}));
    float *aqp = aq.data<float>(), *akp = ak.data<float>(),
          *gp = g.data<float>();
    for (int64_t bh = 0; bh < batch * heads; ++bh) {
      const Linear &s = b.surrogates[bh % heads];
      s.apply(q.data<float>() + bh * n * d, n, aqp + bh * n * m);
      s.apply(k.data<float>() + bh * n * d, n, akp + bh * n * m);
    }
    ThreadPool::parallelFor(0, batch * n, [&](int64_t row) {
      int64_t bi = row / n, t = row % n;
      float *grow = gp + row * m;
      std::fill(grow, grow + m, 0.0f);
      for (int64_t h = 0; h < heads; ++h) {
        int64_t at = ((bi * heads + h) * n + t) * m;
        for (int64_t c = 0; c < m; ++c)
          grow[c] += aqp[at + c] + akp[at + c];
      }
      for (int64_t c = 0; c < m; ++c)
        grow[c] /= static_cast<float>(heads);
    });
  }
  {
    Timer timer(profile, "topk_members (kernel)");
    std::vector<Tensor> r;
    ASSIGN_OR_RETURN(r, kernels_.call(config_.topkEntry(), {g}));
    members = std::move(r[0]);
  }
  Timer timer(profile, "cluster_attention (kernel)");
  std::vector<Tensor> r;
  ASSIGN_OR_RETURN(
      r,
      kernels_.call(pickEntry(kernels_,
                              llvm::formatv("cluster_attention_h{0}_d{1}_m{2}",
                                            q.dim(1), q.dim(3), aq.dim(3))
                                  .str(),
                              "cluster_attention"),
                    {q, k, v, members, aq, ak}));
  return std::move(r[0]);
}

Expected<Tensor> CastVit::block(const Block &b, const Tensor &x,
                                Profile *profile) const {
  float eps = config_.eps;
  Tensor a, qkv, q, k, v, o, t;
  {
    Timer timer(profile, "layer_norm", {&a});
    ASSIGN_OR_RETURN(a, layerNorm(x, b.norm1.weight, b.norm1.bias, eps));
  }
  {
    Timer timer(profile, "linear qkv/proj", {&q, &k, &v});
    ASSIGN_OR_RETURN(qkv, b.qkv(a));
    RETURN_IF_ERROR(splitQkv(qkv, config_.heads, q, k, v));
  }
  if (config_.dense) {
    // Plain softmax attention: the generated kernel with one (K, V) pair,
    // the tokens themselves.
    Timer timer(profile, "attention (kernel)", {&o});
    ASSIGN_OR_RETURN(o, callAttention(kernels_, q, k, v));
  } else {
    ASSIGN_OR_RETURN(o, castAttention(b, q, k, v, profile));
    if (profile)
      profile->checkOutput("cluster_attention (kernel)", o);
  }
  Tensor y;
  {
    Timer timer(profile, "linear qkv/proj", {&y});
    ASSIGN_OR_RETURN(y, b.proj.fromHeads(o, x));
  }
  {
    Timer timer(profile, "layer_norm", {&t});
    ASSIGN_OR_RETURN(t, layerNorm(y, b.norm2.weight, b.norm2.bias, eps));
  }
  {
    Timer timer(profile, "mlp fc1/fc2 (+ gelu)", {&y});
    ASSIGN_OR_RETURN(t, b.fc1(t, /*gelu=*/true));
    RETURN_IF_ERROR(b.fc2.accumulate(t, y));
  }
  return y;
}

Expected<Tensor> CastVit::forward(const Tensor &images,
                                  Profile *profile) const {
  int64_t r = config_.resolution();
  if (images.dtype() != DType::F32 || images.rank() != 4 || images.dim(0) < 1 ||
      images.dim(1) != 3 || images.dim(2) != r || images.dim(3) != r)
    return castError(llvm::formatv(
        "{0}: images must be f32 [B, 3, {1}, {1}]: the weights' pos_embed "
        "has {2} tokens, i.e. {1}x{1} images in patches of {3}; got {4} {5}",
        config_.name, r, config_.tokens, config_.patch,
        dtypeName(images.dtype()), shapeString(images.shape())));
  Tensor t;
  {
    Timer timer(profile, "patch_embed + pos_embed", {&t});
    ASSIGN_OR_RETURN(t, imageToTokens(images));
    ASSIGN_OR_RETURN(t, patchEmbed.onTokens(t, r, r));
    int64_t per = posEmbed.numElements();
    float *tp = t.data<float>();
    const float *pp = posEmbed.data<float>();
    for (int64_t bi = 0; bi < t.dim(0); ++bi)
      for (int64_t i = 0; i < per; ++i)
        tp[bi * per + i] += pp[i];
  }
  for (size_t j = 0; j < blocks.size(); ++j) {
    if (profile)
      profile->setBlock(llvm::formatv("blocks.{0}", j).str());
    ASSIGN_OR_RETURN(t, block(blocks[j], t, profile));
  }
  if (profile)
    profile->setBlock("");
  Timer timer(profile, "norm + mean + head");
  ASSIGN_OR_RETURN(t, layerNorm(t, norm.weight, norm.bias, config_.eps));
  Tensor pooled;
  ASSIGN_OR_RETURN(pooled, meanTokens(t));
  return head(pooled);
}

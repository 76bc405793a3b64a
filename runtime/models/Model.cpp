//===- Model.cpp - What the model builders share --------------------------===//

#include "runtime/models/Model.h"

#include "llvm/Support/FormatVariadic.h"

#include <cassert>
#include <cmath>
#include <set>

using namespace clusopt::runtime;
using llvm::Error;
using llvm::Expected;

void Profile::add(const std::string &label, double seconds) {
  auto [it, inserted] = index_.try_emplace(label, entries_.size());
  if (inserted)
    entries_.emplace_back(label, 0.0);
  entries_[it->second].second += seconds;
}

int64_t clusopt::runtime::countNonFinite(const Tensor &t) {
  if (t.dtype() != DType::F32)
    return 0;
  const float *p = t.data<float>();
  int64_t n = t.numElements(), count = 0;
  for (int64_t i = 0; i < n; ++i)
    count += !std::isfinite(p[i]);
  return count;
}

void Profile::checkOutput(const std::string &label, const Tensor &t) {
  if (!checkOutputs_ || firstNonFinite_)
    return;
  if (int64_t count = countNonFinite(t))
    firstNonFinite_ =
        NonFinite{block_.empty() ? label : label + " in block " + block_, count,
                  t.numElements()};
}

std::vector<std::string>
clusopt::runtime::unusedWeights(const SafetensorsFile &file,
                                const WeightShapes &shapes) {
  std::set<llvm::StringRef> used;
  for (const auto &entry : shapes)
    used.insert(entry.first);
  used.insert(shapes.ignored.begin(), shapes.ignored.end());
  std::vector<std::string> unused;
  for (const SafetensorsEntry &e : file.tensors())
    if (!used.count(e.name))
      unused.push_back(e.name);
  return unused;
}

WeightLoader::WeightLoader(const SafetensorsFile &file,
                           const WeightShapes &shapes)
    : file_(file) {
  for (auto &[name, shape] : shapes)
    shapes_[name] = shape;
}

Expected<Tensor> WeightLoader::get(const std::string &name) {
  auto it = shapes_.find(name);
  assert(it != shapes_.end() && "weight missing from the config's shapes");
  // One NaN weight turns every logit into NaN: name the tensor up front.
  return file_.load(name, DType::F32, it->second, /*requireFinite=*/true);
}

Expected<Linear> WeightLoader::linear(const std::string &prefix, bool bias) {
  auto w = get(prefix + ".weight");
  if (!w)
    return w.takeError();
  if (w->rank() == 4) {
    auto flat = w->reshape({w->dim(0), w->dim(1)});
    if (!flat)
      return flat.takeError();
    *w = std::move(*flat);
  }
  std::optional<Tensor> b;
  if (bias) {
    auto bt = get(prefix + ".bias");
    if (!bt)
      return bt.takeError();
    b = std::move(*bt);
  }
  return Linear::create(*w, std::move(b));
}

Expected<Conv2d> WeightLoader::conv(const std::string &prefix, int64_t stride,
                                    int64_t padding, int64_t groups) {
  auto w = get(prefix + ".weight");
  if (!w)
    return w.takeError();
  auto b = get(prefix + ".bias");
  if (!b)
    return b.takeError();
  return Conv2d::create(*w, std::move(*b), stride, padding, groups);
}

Error WeightLoader::norm(const std::string &prefix, Tensor &weight,
                         Tensor &bias) {
  auto w = get(prefix + ".weight");
  if (!w)
    return w.takeError();
  auto b = get(prefix + ".bias");
  if (!b)
    return b.takeError();
  weight = std::move(*w);
  bias = std::move(*b);
  return Error::success();
}

std::string clusopt::runtime::pickEntry(const KernelLibrary &kernels,
                                        const std::string &specific,
                                        llvm::StringRef generic) {
  return kernels.find(specific) ? specific : generic.str();
}

Expected<Tensor> clusopt::runtime::callAttention(const KernelLibrary &kernels,
                                                 const Tensor &q,
                                                 const Tensor &k,
                                                 const Tensor &v) {
  std::string headsEntry =
      llvm::formatv("attention_h{0}_d{1}", q.dim(1), q.dim(3)).str();
  std::string entry =
      pickEntry(kernels, llvm::formatv("{0}_m{1}", headsEntry, k.dim(2)).str(),
                pickEntry(kernels, headsEntry, "attention"));
  std::vector<Tensor> r;
  ASSIGN_OR_RETURN(r, kernels.call(entry, {q, k, v}));
  return std::move(r[0]);
}

Expected<Tensor> clusopt::runtime::projectAndConvMlp(
    const Tensor &x, const Tensor &o, const ConvMlpTail &tail, float eps,
    int64_t h, int64_t w, Profile *profile, const std::string &prefix,
    const std::string &projLabel) {
  Tensor y, t;
  {
    Timer timer(profile, prefix + projLabel, {&y});
    ASSIGN_OR_RETURN(y, tail.proj.fromHeads(o, x));
  }
  {
    Timer timer(profile, prefix + "layer_norm", {&t});
    ASSIGN_OR_RETURN(t, layerNorm(y, tail.normWeight, tail.normBias, eps));
  }
  {
    Timer timer(profile, prefix + "mlp fc1/fc2", {&t});
    ASSIGN_OR_RETURN(t, tail.fc1(t));
  }
  {
    // GELU(h + dwconv3x3(h)) in one pass over the token layout.
    Timer timer(profile, prefix + "mlp dwconv + gelu", {&t});
    ASSIGN_OR_RETURN(t, tail.dwconv.onTokens(t, h, w, /*addInput=*/true,
                                             /*gelu=*/true));
  }
  {
    Timer timer(profile, prefix + "mlp fc1/fc2", {&y});
    RETURN_IF_ERROR(tail.fc2.accumulate(t, y));
  }
  return y;
}

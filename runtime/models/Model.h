//===- Model.h - What the model builders share ------------------*- C++ -*-===//
//
// The interface clusopt-run drives (a Model maps images to logits), the
// per-layer Profile, and the helpers builders use to load checked weights
// and to time layers.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_MODELS_MODEL_H
#define CLUSOPT_RUNTIME_MODELS_MODEL_H

#include "runtime/KernelLibrary.h"
#include "runtime/Layers.h"
#include "runtime/Safetensors.h"

#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace clusopt::runtime {

/// The number of NaNs and infinities in an f32 tensor (0 for other
/// dtypes).
int64_t countNonFinite(const Tensor &t);

/// Wall time per layer kind and stage, in the order first seen; and, with
/// output checks on, the first layer whose output is not finite.
class Profile {
public:
  void add(const std::string &label, double seconds);
  const std::vector<std::pair<std::string, double>> &entries() const {
    return entries_;
  }
  void clear() { entries_.clear(), index_.clear(), firstNonFinite_.reset(); }

  /// A layer output with NaNs or infinities.
  struct NonFinite {
    std::string layer; // "stage2 layer_norm in block stage2.1"
    int64_t count = 0, total = 0;
  };
  /// Makes checkOutput() scan outputs (a pass over every layer's output, so
  /// off by default: timed runs stay as fast as unprofiled ones).
  void enableOutputChecks() { checkOutputs_ = true; }
  /// The block the next layers belong to ("stage2.1"; empty outside one),
  /// for naming a non-finite layer.
  void setBlock(std::string block) { block_ = std::move(block); }
  /// Records `t` as `label`'s output if checks are on and it is the first
  /// non-finite one.
  void checkOutput(const std::string &label, const Tensor &t);
  const std::optional<NonFinite> &firstNonFinite() const {
    return firstNonFinite_;
  }

private:
  std::vector<std::pair<std::string, double>> entries_;
  std::map<std::string, size_t> index_;
  bool checkOutputs_ = false;
  std::string block_;
  std::optional<NonFinite> firstNonFinite_;
};

/// An image classifier on the runtime.
class Model {
public:
  virtual ~Model() = default;
  virtual const std::string &name() const = 0;
  /// Image sides must be positive multiples of this.
  virtual int64_t resolutionMultiple() const = 0;
  /// The side clusopt-run uses when not told one.
  virtual int64_t defaultResolution() const = 0;
  /// Logits per image.
  virtual int64_t numClasses() const = 0;
  /// images [B, 3, H, W] f32 -> logits [B, classes]. With `profile`, adds
  /// each layer's wall time to it.
  virtual llvm::Expected<Tensor> forward(const Tensor &images,
                                         Profile *profile = nullptr) const = 0;
};

/// The entry point to call: `specific` when the library has it, else
/// `generic`. Specific entries fix the dims a model never varies (heads,
/// head dim, clusters, channels), which the compiler turns into constant
/// loop bounds and offsets: cluster_attention at CAST's shape runs about
/// 2x faster than the all-dynamic entry.
std::string pickEntry(const KernelLibrary &kernels, const std::string &specific,
                      llvm::StringRef generic);

/// softmax(Q Kᵀ / sqrt(D)) V through the library's most specific entry:
/// `attention_h<H>_d<D>_m<M>` (M keys), else `attention_h<H>_d<D>`, else
/// the generic `attention`.
llvm::Expected<Tensor> callAttention(const KernelLibrary &kernels,
                                     const Tensor &q, const Tensor &k,
                                     const Tensor &v);

/// The weights of the block tail PaCa and ClusTR share (docs/models.md).
struct ConvMlpTail {
  const Linear &proj;
  const Tensor &normWeight, &normBias;
  const Linear &fc1;
  const Conv2d &dwconv;
  const Linear &fc2;
};

/// y = x + proj(merge_heads(o)); h = fc1(LN(y));
/// returns y + fc2(GELU(h + dwconv3x3(h))) on the h × w token grid. Times
/// go to `profile` under `prefix` + the layer, the projection under
/// `prefix` + `projLabel`.
llvm::Expected<Tensor> projectAndConvMlp(const Tensor &x, const Tensor &o,
                                         const ConvMlpTail &tail, float eps,
                                         int64_t h, int64_t w, Profile *profile,
                                         const std::string &prefix,
                                         const std::string &projLabel);

/// Each weight's name and shape, in the order a config lists them.
struct WeightShapes
    : std::vector<std::pair<std::string, llvm::SmallVector<int64_t, 4>>> {
  void add(std::string name, llvm::SmallVector<int64_t, 4> shape) {
    emplace_back(std::move(name), std::move(shape));
  }
  /// Tensors a weights file may hold that the model ignores by design
  /// (vit_dense runs on CAST's weights, without their surrogates); other
  /// unused tensors are an error in clusopt-run.
  std::vector<std::string> ignored;
  /// A Linear's `prefix.weight` [out, in] and `prefix.bias` [out].
  void linear(const std::string &prefix, int64_t out, int64_t in) {
    add(prefix + ".weight", {out, in});
    add(prefix + ".bias", {out});
  }
  /// The MLP of projectAndConvMlp under `prefix` ("...mlp."): fc1,
  /// the 3x3 depthwise `dwconv.dwconv` on the hidden channels, fc2.
  void convMlp(const std::string &prefix, int64_t channels, int64_t hidden) {
    linear(prefix + "fc1", hidden, channels);
    add(prefix + "dwconv.dwconv.weight", {hidden, 1, 3, 3});
    add(prefix + "dwconv.dwconv.bias", {hidden});
    linear(prefix + "fc2", channels, hidden);
  }
  /// A LayerNorm's `prefix.weight` and `prefix.bias`, both [channels].
  void norm(const std::string &prefix, int64_t channels) {
    add(prefix + ".weight", {channels});
    add(prefix + ".bias", {channels});
  }
};

/// Times a scope into a profile (when there is one), then passes the
/// scope's `outputs` (which must outlive the Timer) to
/// Profile::checkOutput.
class Timer {
public:
  Timer(Profile *profile, std::string label,
        std::initializer_list<const Tensor *> outputs = {})
      : profile_(profile), label_(std::move(label)), outputs_(outputs),
        start_(std::chrono::steady_clock::now()) {}
  ~Timer() {
    if (!profile_)
      return;
    profile_->add(label_, std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - start_)
                              .count());
    for (const Tensor *t : outputs_)
      profile_->checkOutput(label_, *t);
  }

private:
  Profile *profile_;
  std::string label_;
  llvm::SmallVector<const Tensor *, 3> outputs_;
  std::chrono::steady_clock::time_point start_;
};

/// The tensors of `file` that `shapes` neither lists nor ignores, sorted
/// by name.
std::vector<std::string> unusedWeights(const SafetensorsFile &file,
                                       const WeightShapes &shapes);

/// Loads weights by name, every one checked against the config's shape and
/// for NaNs and infinities.
class WeightLoader {
public:
  WeightLoader(const SafetensorsFile &file, const WeightShapes &shapes);

  llvm::Expected<Tensor> get(const std::string &name);
  /// A Linear from `prefix.weight` ([out, in] or a [out, in, 1, 1]
  /// convolution) and `prefix.bias`.
  llvm::Expected<Linear> linear(const std::string &prefix, bool bias = true);
  llvm::Expected<Conv2d> conv(const std::string &prefix, int64_t stride,
                              int64_t padding, int64_t groups);
  llvm::Error norm(const std::string &prefix, Tensor &weight, Tensor &bias);

private:
  const SafetensorsFile &file_;
  std::map<std::string, llvm::SmallVector<int64_t, 4>> shapes_;
};

} // namespace clusopt::runtime

// Assigns an Expected's value to `dst` or returns its error from the
// enclosing function.
#define ASSIGN_OR_RETURN(dst, expr)                                            \
  do {                                                                         \
    auto value_ = (expr);                                                      \
    if (!value_)                                                               \
      return value_.takeError();                                               \
    dst = std::move(*value_);                                                  \
  } while (0)

#define RETURN_IF_ERROR(expr)                                                  \
  do {                                                                         \
    if (llvm::Error err_ = (expr))                                             \
      return std::move(err_);                                                  \
  } while (0)

#endif // CLUSOPT_RUNTIME_MODELS_MODEL_H

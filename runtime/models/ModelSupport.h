//===- ModelSupport.h - What the model builders share ----------*- C++ -*-===//
//
// The per-layer profile, a scope timer, a weight loader that checks every
// tensor against the model's list of names and shapes, and the two macros
// the builders use to pass llvm::Errors up.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_MODELS_MODELSUPPORT_H
#define CLUSOPT_RUNTIME_MODELS_MODELSUPPORT_H

#include "runtime/Layers.h"
#include "runtime/Safetensors.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace clusopt::runtime {

/// A model's weights: name and shape, in state_dict order.
using WeightShapes =
    std::vector<std::pair<std::string, llvm::SmallVector<int64_t, 4>>>;

/// Wall time per layer kind and stage, in the order first seen.
class Profile {
public:
  void add(const std::string &label, double seconds);
  const std::vector<std::pair<std::string, double>> &entries() const {
    return entries_;
  }
  void clear() { entries_.clear(), index_.clear(); }

private:
  std::vector<std::pair<std::string, double>> entries_;
  std::map<std::string, size_t> index_;
};

/// Times a scope into a profile (when there is one).
class Timer {
public:
  Timer(Profile *profile, std::string label)
      : profile_(profile), label_(std::move(label)),
        start_(std::chrono::steady_clock::now()) {}
  ~Timer() {
    if (profile_)
      profile_->add(label_, std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - start_)
                                .count());
  }

private:
  Profile *profile_;
  std::string label_;
  std::chrono::steady_clock::time_point start_;
};

/// Loads weights by name, every one checked against its shape in
/// `shapes` (so a missing, misshapen or mistyped tensor fails naming it).
class WeightLoader {
public:
  WeightLoader(const SafetensorsFile &file, const WeightShapes &shapes);

  llvm::Expected<Tensor> get(const std::string &name);
  /// `prefix`.weight [out, in] or a [out, in, 1, 1] convolution weight as a
  /// Linear, with `prefix`.bias when `bias`.
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

#endif // CLUSOPT_RUNTIME_MODELS_MODELSUPPORT_H

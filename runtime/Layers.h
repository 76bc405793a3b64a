//===- Layers.h - The f32 layers models run around the kernels --*- C++ -*-===//
//
// The parts of a model that are not `clus` ops: convolutions, LayerNorm,
// GELU, Linear, token means and residual adds, on f32 tensors. They run on
// the runtime's libomp pool (ThreadPool), the kernels' pool too. Weights
// that a layer uses many times (Linear, dense convolutions) are packed once
// into GEMM panels.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_LAYERS_H
#define CLUSOPT_RUNTIME_LAYERS_H

#include "runtime/Tensor.h"

#include <optional>

namespace clusopt::runtime {

/// y = x · Wᵀ + b over the last axis of x, with W [out, in] as PyTorch
/// stores it.
class Linear {
public:
  /// Output columns per packed panel: two AVX-512 vectors, four AVX2 ones.
  static constexpr int64_t kPanel = 32;

  /// Packs `weight` [out, in] (f32) and takes `bias` [out] if given.
  static llvm::Expected<Linear> create(const Tensor &weight,
                                       std::optional<Tensor> bias);
  Linear() = default;

  int64_t inFeatures() const { return in_; }
  int64_t outFeatures() const { return out_; }

  /// x [..., in] -> [..., out].
  llvm::Expected<Tensor> operator()(const Tensor &x) const;
  /// The same on raw rows: y [rows, out] = x [rows, in] · Wᵀ + b.
  void apply(const float *x, int64_t rows, float *y) const;

private:
  int64_t in_ = 0, out_ = 0;
  // Wᵀ in panels of kPanel columns: panel p holds, for every k, columns
  // [p·kPanel, (p+1)·kPanel) of row k of Wᵀ, zero-padded past `out`.
  Tensor packed_;
  std::optional<Tensor> bias_;
};

/// 2-D convolution on NCHW f32 maps: weight [Cout, Cin/groups, k, k],
/// groups 1 (dense, as im2col and a GEMM) or Cin == Cout (depthwise).
class Conv2d {
public:
  static llvm::Expected<Conv2d> create(const Tensor &weight,
                                       std::optional<Tensor> bias,
                                       int64_t stride, int64_t padding,
                                       int64_t groups);
  Conv2d() = default;

  /// x [B, Cin, H, W] -> [B, Cout, Ho, Wo].
  llvm::Expected<Tensor> operator()(const Tensor &x) const;
  /// A depthwise convolution on tokens: x [B, H·W, C] (an NHWC image) ->
  /// [B, Ho·Wo, C], plus x itself when `addInput` (PaCa's MLP shortcut;
  /// stride 1 and same padding only). Vectorises over channels and needs
  /// no transposes to and from NCHW.
  llvm::Expected<Tensor> onTokens(const Tensor &x, int64_t h, int64_t w,
                                  bool addInput = false) const;

private:
  int64_t cin_ = 0, cout_ = 0, kernel_ = 0, stride_ = 1, padding_ = 0,
          groups_ = 1;
  Linear gemm_;    // dense: [Cout, Cin·k·k]
  Tensor weight_;  // depthwise: [C, k·k]
  Tensor weightT_; // depthwise: [k·k, C], for tokens
  std::optional<Tensor> bias_;
};

/// LayerNorm over the last axis of x [..., C].
llvm::Expected<Tensor> layerNorm(const Tensor &x, const Tensor &weight,
                                 const Tensor &bias, float eps);
/// LayerNorm over the channels of an NCHW map, per pixel.
llvm::Expected<Tensor> layerNorm2d(const Tensor &x, const Tensor &weight,
                                   const Tensor &bias, float eps);
/// erf to about 2 ulp: a rational approximation that vectorises, unlike
/// libm's erff.
float erfApprox(float x);
/// The exact (erf) GELU, in place.
void geluInPlace(Tensor &x);
/// Mean over axis 1 of x [B, N, C] -> [B, C].
llvm::Expected<Tensor> meanTokens(const Tensor &x);
/// x += y, same shapes.
llvm::Error addInPlace(Tensor &x, const Tensor &y);

/// [B, C, H, W] <-> [B, H·W, C].
llvm::Expected<Tensor> imageToTokens(const Tensor &x);
llvm::Expected<Tensor> tokensToImage(const Tensor &x, int64_t h, int64_t w);
/// [B, N, H·D] -> [B, H, N, D] and back.
llvm::Expected<Tensor> splitHeads(const Tensor &x, int64_t heads);
llvm::Expected<Tensor> mergeHeads(const Tensor &x);
/// [B, N, M] -> [B, M, N].
llvm::Expected<Tensor> transposeLast(const Tensor &x);

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_LAYERS_H

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
#include "runtime/ukernels/UKernels.h"

#include <optional>

namespace clusopt::runtime {

/// y = x · Wᵀ + b over the last axis of x, with W [out, in] as PyTorch
/// stores it.
class Linear {
public:
  /// Output columns per packed panel (the micro-kernels' width).
  static constexpr int64_t kPanel = ukernel::kPanel;

  /// What happens to x · Wᵀ + b as it is stored: nothing, the exact GELU,
  /// or an add into what y holds (a residual). Fusing these saves a pass
  /// over the output.
  enum class Epilogue { Store, Gelu, Accumulate };

  /// Packs `weight` [out, in] (f32) and takes `bias` [out] if given.
  static llvm::Expected<Linear> create(const Tensor &weight,
                                       std::optional<Tensor> bias);
  Linear() = default;

  int64_t inFeatures() const { return in_; }
  int64_t outFeatures() const { return out_; }

  /// x [..., in] -> [..., out], with GELU applied when `gelu`.
  llvm::Expected<Tensor> operator()(const Tensor &x, bool gelu = false) const;
  /// y += x · Wᵀ + b, for y [..., out] shaped like the result.
  llvm::Error accumulate(const Tensor &x, Tensor &y) const;
  /// x [B, N, in] -> [B, heads, N, out / heads]: the result split into
  /// attention heads as it is stored (splitHeads of operator()).
  llvm::Expected<Tensor> toHeads(const Tensor &x, int64_t heads) const;
  /// shortcut + merge(o) · Wᵀ + b for attention's output o [B, H, N, D]
  /// with H·D = in, read in place (no mergeHeads copy), and shortcut
  /// [B, N, out]: an attention block's output projection and residual.
  llvm::Expected<Tensor> fromHeads(const Tensor &o,
                                   const Tensor &shortcut) const;
  /// The same on raw rows: y [rows, out] = x [rows, in] · Wᵀ + b, then the
  /// epilogue.
  void apply(const float *x, int64_t rows, float *y,
             Epilogue epilogue = Epilogue::Store) const;

private:
  friend class Conv2d;
  // Where the GEMM reads x and writes y (the micro-kernel library's).
  using Io = ukernel::GemmOperands;
  void run(const Io &io, int64_t rows) const;
  llvm::Error checkInput(const Tensor &x) const;

  int64_t in_ = 0, out_ = 0;
  // Wᵀ in panels of kPanel columns: panel p holds, for every k, columns
  // [p·kPanel, (p+1)·kPanel) of row k of Wᵀ, zero-padded past `out`.
  Tensor packed_;
  std::optional<Tensor> bias_;
};

/// 2-D convolution: weight [Cout, Cin/groups, k, k], groups 1 (dense, as
/// im2col and a GEMM) or Cin == Cout (depthwise). Models run it on tokens
/// [B, H·W, C] (NHWC), so that no layer pays for transposes; NCHW maps are
/// taken too.
class Conv2d {
public:
  static llvm::Expected<Conv2d> create(const Tensor &weight,
                                       std::optional<Tensor> bias,
                                       int64_t stride, int64_t padding,
                                       int64_t groups);
  Conv2d() = default;

  /// x [B, Cin, H, W] -> [B, Cout, Ho, Wo].
  llvm::Expected<Tensor> operator()(const Tensor &x) const;
  /// The convolution on tokens: x [B, H·W, Cin] (an NHWC image) ->
  /// [B, Ho·Wo, Cout]. Depthwise ones may add x itself to the result
  /// (`addInput`: PaCa's MLP shortcut; stride 1 and same padding only), and
  /// any may apply GELU to it (`gelu`, after the shortcut).
  llvm::Expected<Tensor> onTokens(const Tensor &x, int64_t h, int64_t w,
                                  bool addInput = false,
                                  bool gelu = false) const;
  /// The output height (or width) for an input of `size`.
  int64_t outputSize(int64_t size) const {
    return (size + 2 * padding_ - kernel_) / stride_ + 1;
  }

private:
  int64_t cin_ = 0, cout_ = 0, kernel_ = 0, stride_ = 1, padding_ = 0,
          groups_ = 1;
  Linear gemm_;    // dense: [Cout, k·k·Cin], im2col columns (ky, kx, cin)
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

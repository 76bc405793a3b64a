//===- Layers.cpp - The f32 layers models run around the kernels ----------===//

#include "runtime/Layers.h"
#include "runtime/ThreadPool.h"
#include "runtime/ukernels/UKernels.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace clusopt::runtime;
using namespace clusopt::ukernel;
using llvm::Error;
using llvm::Expected;

namespace {

Error layerError(llvm::StringRef layer, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (layer + ": " + message).str());
}

Error expectF32(llvm::StringRef layer, llvm::StringRef what, const Tensor &t,
                int64_t rank = -1) {
  if (t.dtype() != DType::F32)
    return layerError(layer, llvm::formatv("{0} must be f32, got {1}", what,
                                           dtypeName(t.dtype())));
  if (rank >= 0 && t.rank() != rank)
    return layerError(layer, llvm::formatv("{0} must have rank {1}, got {2}",
                                           what, rank, shapeString(t.shape())));
  return Error::success();
}

// The shortest window row (k·cin floats) a convolution's GEMM reads in
// place; shorter ones go through an im2col buffer: the RGB stem's 9-float
// rows ran 1.4x slower in place (measured with a kernel call per window
// row), where the per-row overhead outweighs 9 k steps.
constexpr int64_t kMinWindowRow = 32;

} // namespace

//===----------------------------------------------------------------------===//
// Linear
//===----------------------------------------------------------------------===//

Expected<Linear> Linear::create(const Tensor &weight,
                                std::optional<Tensor> bias) {
  if (Error err = expectF32("linear", "weight", weight, 2))
    return std::move(err);
  Linear layer;
  layer.out_ = weight.dim(0);
  layer.in_ = weight.dim(1);
  if (bias) {
    if (Error err = expectF32("linear", "bias", *bias, 1))
      return std::move(err);
    if (bias->dim(0) != layer.out_)
      return layerError("linear",
                        llvm::formatv("bias has {0} elements for {1} outputs",
                                      bias->dim(0), layer.out_));
    layer.bias_ = std::move(bias);
  }
  int64_t panels = (layer.out_ + kPanel - 1) / kPanel;
  auto packed = Tensor::empty(DType::F32, {panels, layer.in_, kPanel});
  if (!packed)
    return packed.takeError();
  // B = Wᵀ: element (k, o) of B is w[o·in + k].
  ukernel::packPanels(weight.data<float>(), layer.in_, layer.out_, 1, layer.in_,
                      packed->data<float>());
  layer.packed_ = std::move(*packed);
  return layer;
}

void Linear::apply(const float *x, int64_t rows, float *y,
                   Epilogue epilogue) const {
  Io io;
  io.x = x;
  io.y = y;
  io.gelu = epilogue == Epilogue::Gelu;
  if (epilogue == Epilogue::Accumulate)
    io.add = y;
  run(io, rows);
}

void Linear::run(const Io &io, int64_t rows) const {
  ukernel::gemm(io, rows, in_, out_, packed_.data<float>(),
                bias_ ? bias_->data<float>() : nullptr);
}

Error Linear::checkInput(const Tensor &x) const {
  if (Error err = expectF32("linear", "input", x))
    return err;
  if (x.rank() < 1 || x.dim(x.rank() - 1) != in_)
    return layerError("linear",
                      llvm::formatv("input {0} does not end in {1} features",
                                    shapeString(x.shape()), in_));
  return Error::success();
}

Expected<Tensor> Linear::operator()(const Tensor &x, bool gelu) const {
  if (Error err = checkInput(x))
    return std::move(err);
  llvm::SmallVector<int64_t, 4> shape(x.shape());
  shape.back() = out_;
  auto y = Tensor::empty(DType::F32, shape);
  if (!y)
    return y.takeError();
  apply(x.data<float>(), x.numElements() / std::max<int64_t>(in_, 1),
        y->data<float>(), gelu ? Epilogue::Gelu : Epilogue::Store);
  return y;
}

Error Linear::accumulate(const Tensor &x, Tensor &y) const {
  if (Error err = checkInput(x))
    return err;
  llvm::SmallVector<int64_t, 4> shape(x.shape());
  shape.back() = out_;
  if (Error err = expectF32("linear", "accumulator", y))
    return err;
  if (y.shape() != llvm::ArrayRef<int64_t>(shape))
    return layerError(
        "linear", llvm::formatv("accumulator {0} does not match the "
                                "result {1}",
                                shapeString(y.shape()), shapeString(shape)));
  apply(x.data<float>(), x.numElements() / std::max<int64_t>(in_, 1),
        y.data<float>(), Epilogue::Accumulate);
  return Error::success();
}

Expected<Tensor> Linear::toHeads(const Tensor &x, int64_t heads) const {
  if (Error err = checkInput(x))
    return std::move(err);
  if (x.rank() != 3)
    return layerError("linear", llvm::formatv("head-split output needs input "
                                              "[B, N, {0}], got {1}",
                                              in_, shapeString(x.shape())));
  if (heads < 1 || out_ % heads)
    return layerError(
        "linear",
        llvm::formatv("{0} outputs do not split into {1} heads", out_, heads));
  auto y = Tensor::empty(DType::F32, {x.dim(0), heads, x.dim(1), out_ / heads});
  if (!y)
    return y.takeError();
  Io io;
  io.x = x.data<float>();
  io.y = y->data<float>();
  io.yHeads = heads;
  io.tokens = std::max<int64_t>(x.dim(1), 1);
  run(io, x.dim(0) * x.dim(1));
  return y;
}

Expected<Tensor> Linear::fromHeads(const Tensor &o,
                                   const Tensor &shortcut) const {
  if (Error err = expectF32("linear", "heads", o, 4))
    return std::move(err);
  int64_t b = o.dim(0), heads = o.dim(1), n = o.dim(2);
  if (heads < 1 || heads * o.dim(3) != in_)
    return layerError("linear", llvm::formatv("heads {0} do not merge into {1} "
                                              "features",
                                              shapeString(o.shape()), in_));
  if (Error err = expectF32("linear", "shortcut", shortcut))
    return std::move(err);
  if (shortcut.shape() != llvm::ArrayRef<int64_t>({b, n, out_}))
    return layerError("linear",
                      llvm::formatv("shortcut {0} does not match the result "
                                    "[{1}, {2}, {3}]",
                                    shapeString(shortcut.shape()), b, n, out_));
  auto y = Tensor::empty(DType::F32, {b, n, out_});
  if (!y)
    return y.takeError();
  Io io;
  io.x = o.data<float>();
  io.xHeads = heads;
  io.y = y->data<float>();
  io.add = shortcut.data<float>();
  io.tokens = std::max<int64_t>(n, 1);
  run(io, b * n);
  return y;
}

//===----------------------------------------------------------------------===//
// Conv2d
//===----------------------------------------------------------------------===//

Expected<Conv2d> Conv2d::create(const Tensor &weight,
                                std::optional<Tensor> bias, int64_t stride,
                                int64_t padding, int64_t groups) {
  if (Error err = expectF32("conv2d", "weight", weight, 4))
    return std::move(err);
  Conv2d conv;
  conv.cout_ = weight.dim(0);
  conv.kernel_ = weight.dim(2);
  conv.stride_ = stride;
  conv.padding_ = padding;
  conv.groups_ = groups;
  conv.cin_ = weight.dim(1) * groups;
  if (weight.dim(3) != conv.kernel_ || stride < 1 || padding < 0)
    return layerError(
        "conv2d", llvm::formatv("unsupported weight {0}, stride {1}, "
                                "padding {2} (square kernels only)",
                                shapeString(weight.shape()), stride, padding));
  if (groups != 1 && !(groups == conv.cout_ && weight.dim(1) == 1))
    return layerError("conv2d",
                      llvm::formatv("groups = {0} with weight {1}: "
                                    "only dense and depthwise",
                                    groups, shapeString(weight.shape())));
  if (bias) {
    if (Error err = expectF32("conv2d", "bias", *bias, 1))
      return std::move(err);
    if (bias->dim(0) != conv.cout_)
      return layerError("conv2d",
                        llvm::formatv("bias has {0} elements for {1} outputs",
                                      bias->dim(0), conv.cout_));
  }
  int64_t taps = conv.kernel_ * conv.kernel_;
  if (groups == 1) {
    // A Linear weight over im2col columns ordered (ky, kx, cin), so that
    // im2col on tokens copies whole channel vectors.
    auto flat = Tensor::empty(DType::F32, {conv.cout_, taps * conv.cin_});
    if (!flat)
      return flat.takeError();
    const float *src = weight.data<float>();
    float *dst = flat->data<float>();
    for (int64_t o = 0; o < conv.cout_; ++o)
      for (int64_t c = 0; c < conv.cin_; ++c)
        for (int64_t t = 0; t < taps; ++t)
          dst[(o * taps + t) * conv.cin_ + c] =
              src[(o * conv.cin_ + c) * taps + t];
    auto gemm = Linear::create(*flat, bias);
    if (!gemm)
      return gemm.takeError();
    conv.gemm_ = std::move(*gemm);
  } else {
    auto flat = weight.reshape({conv.cout_, taps});
    if (!flat)
      return flat.takeError();
    conv.weight_ = std::move(*flat);
    conv.bias_ = std::move(bias);
    auto transposed = Tensor::empty(DType::F32, {taps, conv.cout_});
    if (!transposed)
      return transposed.takeError();
    for (int64_t c = 0; c < conv.cout_; ++c)
      for (int64_t t = 0; t < taps; ++t)
        transposed->data<float>()[t * conv.cout_ + c] =
            conv.weight_.data<float>()[c * taps + t];
    conv.weightT_ = std::move(*transposed);
  }
  return conv;
}

Expected<Tensor> Conv2d::operator()(const Tensor &x) const {
  if (Error err = expectF32("conv2d", "input", x, 4))
    return std::move(err);
  if (x.dim(1) != cin_)
    return layerError("conv2d",
                      llvm::formatv("input {0} has {1} channels, expected {2}",
                                    shapeString(x.shape()), x.dim(1), cin_));
  int64_t b = x.dim(0), h = x.dim(2), w = x.dim(3), k = kernel_, s = stride_,
          p = padding_;
  int64_t ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
  if (h + 2 * p < k || w + 2 * p < k)
    return layerError("conv2d", llvm::formatv("input {0} is smaller than the "
                                              "{1}x{1} kernel",
                                              shapeString(x.shape()), k));
  const float *in = x.data<float>();

  if (groups_ == 1) {
    // Through the token layout: the convolution's GEMM wants it anyway.
    auto tokens = imageToTokens(x);
    if (!tokens)
      return tokens.takeError();
    auto y = onTokens(*tokens, h, w);
    if (!y)
      return y.takeError();
    return tokensToImage(*y, ho, wo);
  }

  // Depthwise: per (image, channel) plane, each tap adds a shifted row, so
  // the innermost loop is contiguous at stride 1.
  auto y = Tensor::empty(DType::F32, {b, cout_, ho, wo});
  if (!y)
    return y.takeError();
  float *out = y->data<float>();
  const float *wt = weight_.data<float>();
  const float *bias = bias_ ? bias_->data<float>() : nullptr;
  ThreadPool::parallelFor(0, b * cout_, [&](int64_t plane) {
    int64_t c = plane % cout_;
    const float *src = in + plane * h * w;
    float *dst = out + plane * ho * wo;
    std::fill(dst, dst + ho * wo, bias ? bias[c] : 0.0f);
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ky = 0; ky < k; ++ky) {
        int64_t iy = oy * s + ky - p;
        if (iy < 0 || iy >= h)
          continue;
        const float *srow = src + iy * w;
        float *drow = dst + oy * wo;
        for (int64_t kx = 0; kx < k; ++kx) {
          float tap = wt[c * k * k + ky * k + kx];
          // ox such that 0 <= ox·s + kx - p < w.
          int64_t lo = std::max<int64_t>(0, (p - kx + s - 1) / s);
          int64_t hi = std::min<int64_t>(wo, (w - 1 + p - kx) / s + 1);
          if (s == 1) {
            const float *sp = srow + kx - p;
            for (int64_t ox = lo; ox < hi; ++ox)
              drow[ox] += tap * sp[ox];
          } else {
            for (int64_t ox = lo; ox < hi; ++ox)
              drow[ox] += tap * srow[ox * s + kx - p];
          }
        }
      }
  });
  return y;
}

namespace {

// One depthwise output pixel over channels [c0, c0 + Width), taps
// [kyLo, kyHi) x [kxLo, kxHi) (the ones inside the image), accumulated in
// registers onto what dst holds (bias, shortcut) before one store.
template <int64_t Width>
[[gnu::always_inline]] inline void
depthwisePixel(const float *img, float *dst, int64_t c, int64_t c0, int64_t w,
               int64_t k, int64_t iy0, int64_t kyLo, int64_t kyHi, int64_t ix0,
               int64_t kxLo, int64_t kxHi, const float *taps) {
  float acc[Width];
  for (int64_t j = 0; j < Width; ++j)
    acc[j] = dst[c0 + j];
  for (int64_t ky = kyLo; ky < kyHi; ++ky) {
    const float *row = img + (iy0 + ky) * w * c + c0;
    const float *tapRow = taps + ky * k * c + c0;
    for (int64_t kx = kxLo; kx < kxHi; ++kx) {
      const float *src = row + (ix0 + kx) * c;
      const float *tap = tapRow + kx * c;
      for (int64_t j = 0; j < Width; ++j)
        acc[j] += tap[j] * src[j];
    }
  }
  for (int64_t j = 0; j < Width; ++j)
    dst[c0 + j] = acc[j];
}

// Pixels [oxBegin, oxEnd) of one output row (image bi's row oy) of a
// depthwise convolution on tokens, with the shortcut, then GELU while each
// pixel is in L1.
[[gnu::always_inline]] inline void
depthwisePixels(const float *img, float *out, int64_t oy, int64_t h, int64_t w,
                int64_t c, int64_t k, int64_t s, int64_t p, const float *taps,
                const float *bias, bool addInput, bool gelu, int64_t oxBegin,
                int64_t oxEnd) {
  // Taps inside the image: iy = iy0 + ky for ky in [kyLo, kyHi).
  int64_t iy0 = oy * s - p;
  int64_t kyLo = std::max<int64_t>(0, -iy0), kyHi = std::min(k, h - iy0);
  for (int64_t ox = oxBegin; ox < oxEnd; ++ox) {
    float *dst = out + ox * c;
    int64_t ix0 = ox * s - p;
    int64_t kxLo = std::max<int64_t>(0, -ix0), kxHi = std::min(k, w - ix0);
    if (addInput) {
      const float *self = img + (oy * w + ox) * c;
      for (int64_t j = 0; j < c; ++j)
        dst[j] = bias[j] + self[j];
    } else {
      for (int64_t j = 0; j < c; ++j)
        dst[j] = bias[j];
    }
    int64_t c0 = 0;
    for (; c0 + 64 <= c; c0 += 64)
      depthwisePixel<64>(img, dst, c, c0, w, k, iy0, kyLo, kyHi, ix0, kxLo,
                         kxHi, taps);
    for (; c0 + 16 <= c; c0 += 16)
      depthwisePixel<16>(img, dst, c, c0, w, k, iy0, kyLo, kyHi, ix0, kxLo,
                         kxHi, taps);
    for (; c0 < c; ++c0)
      depthwisePixel<1>(img, dst, c, c0, w, k, iy0, kyLo, kyHi, ix0, kxLo, kxHi,
                        taps);
    if (gelu)
      geluSpan(dst, c);
  }
}

// Sums of pixels [ox, ox + Pixels), channels [c0, c0 + Width), of an
// interior row: a function, not a lambda, so that it inlines into each
// target clone (a lambda kept the baseline's SSE2 and spilled).
template <int64_t K, int64_t Pixels, int64_t Width, bool Gelu = false>
[[gnu::always_inline]] inline void
depthwiseSlidingPixels(const float *img, float *out, int64_t oy, int64_t ox,
                       int64_t w, int64_t c, int64_t c0, const float *taps,
                       const float *bias, bool addInput) {
  using Vec = VecOf<Width>;
  constexpr int64_t kPad = K / 2;
  Vec b = loadVec<Width>(bias + c0), acc[Pixels];
  for (int64_t i = 0; i < Pixels; ++i)
    acc[i] =
        addInput ? b + loadVec<Width>(img + (oy * w + ox + i) * c + c0) : b;
  for (int64_t ky = 0; ky < K; ++ky) {
    const float *row = img + ((oy - kPad + ky) * w + ox - kPad) * c + c0;
    Vec in[Pixels + K - 1];
    for (int64_t i = 0; i < Pixels + K - 1; ++i)
      in[i] = loadVec<Width>(row + i * c);
    for (int64_t kx = 0; kx < K; ++kx) {
      Vec t = loadVec<Width>(taps + (ky * K + kx) * c + c0);
      for (int64_t i = 0; i < Pixels; ++i)
        acc[i] += t * in[i + kx];
    }
  }
  for (int64_t i = 0; i < Pixels; ++i) {
    if constexpr (Gelu) {
#ifdef CLUSOPT_WIDE_GEMM
      acc[i] = geluVec<Width>(acc[i]);
#else
      // (Unreached: without the wide kernels geluVectorised() is false and
      // the caller applies GELU after the row; exact all the same.)
      for (int64_t j = 0; j < Width; ++j)
        acc[i][j] = geluExact(acc[i][j]);
#endif
    }
    storeVec<Width>(out + (ox + i) * c + c0, acc[i]);
  }
}

// The interior pixels [p, w - p) of an interior output row of a K×K,
// stride-1, padding-p (p = K / 2) depthwise convolution, Width channels
// and Block pixels at a time: per kernel row, the Block + K - 1 input
// vectors the block needs are loaded once and each tap once, for K·Block
// FMAs (the per-pixel form loads a tap and an input per FMA). The Block
// sums and the inputs must fit the register file. With `Gelu` (only where
// geluVectorised()), GELU is applied to each vector before it is stored.
//
// Channels go in chunks of Chunk, and within a chunk pixel blocks are the
// outer loop, so a block's groups read each pixel's channels in sequence
// and the working set (K rows of Block + K - 1 pixels of a chunk, and the
// taps) stays in L1. Chunk = Width is the group-outer order, which reads
// one line per pixel, c·4 bytes apart, K rows of them: on PaCa's hidden
// layers (384-1280 channels) that overflowed L1 and waited on L2 and L3.
// In the model (8 alternating rounds), 3x3 blocks of 4 pixels in chunks of
// 256 channels took 0.90x the time of the group-outer form (with its taps
// in registers and the next group's lines prefetched) at stage 1, 0.85x
// at stage 2, 1.0x at stage 3; the clustering net's 7x7 with blocks of 4
// in chunks of 64 made the whole net 0.94x (blocks of 8 or 2 and chunks of
// 32 or 128 were slower).
template <int64_t K, int64_t Block, int64_t Width, int64_t Chunk, bool Gelu>
[[gnu::always_inline]] inline void
depthwiseInteriorPixelMajor(const float *img, float *out, int64_t oy, int64_t w,
                            int64_t c, const float *taps, const float *bias,
                            bool addInput) {
  constexpr int64_t kPad = K / 2;
  for (int64_t cc = 0; cc < c; cc += Chunk) {
    int64_t cEnd = std::min(c, cc + Chunk);
    int64_t ox = kPad;
    for (; ox + Block <= w - kPad; ox += Block)
      for (int64_t c0 = cc; c0 < cEnd; c0 += Width)
        depthwiseSlidingPixels<K, Block, Width, Gelu>(img, out, oy, ox, w, c,
                                                      c0, taps, bias, addInput);
    for (; ox < w - kPad; ++ox)
      for (int64_t c0 = cc; c0 < cEnd; c0 += Width)
        depthwiseSlidingPixels<K, 1, Width, Gelu>(img, out, oy, ox, w, c, c0,
                                                  taps, bias, addInput);
  }
}

// The interior of a 3x3 or 7x7 row, Width channels at a time, in blocks of
// 4 pixels: 3x3 in chunks of 256 channels (4 sums, 6 inputs and a tap in
// registers), 7x7 in chunks of Chunk7 (4 sums, 10 inputs and a tap).
template <int64_t Width, int64_t Chunk7>
[[gnu::always_inline]] inline void
depthwiseInterior(const float *img, float *out, int64_t oy, int64_t w,
                  int64_t c, int64_t k, const float *taps, const float *bias,
                  bool addInput, bool gelu) {
  if (k == 7)
    depthwiseInteriorPixelMajor<7, 4, Width, Chunk7, false>(
        img, out, oy, w, c, taps, bias, addInput);
  else if (gelu)
    depthwiseInteriorPixelMajor<3, 4, Width, 256, true>(img, out, oy, w, c,
                                                        taps, bias, addInput);
  else
    depthwiseInteriorPixelMajor<3, 4, Width, 256, false>(img, out, oy, w, c,
                                                         taps, bias, addInput);
}

#ifdef CLUSOPT_WIDE_GEMM
// 16 channels at a time in zmm registers, which the x86-64-v4 clone
// (preferring 256 bits) would split; the 7x7 in chunks of 64.
__attribute__((target("arch=x86-64-v4,no-prefer-256-bit"))) void
depthwiseInteriorWide(const float *img, float *out, int64_t oy, int64_t w,
                      int64_t c, int64_t k, const float *taps,
                      const float *bias, bool addInput, bool gelu) {
  depthwiseInterior<16, 64>(img, out, oy, w, c, k, taps, bias, addInput, gelu);
}
#endif

// One output row (image bi's row oy) of a depthwise convolution on tokens,
// then the shortcut and GELU.
CLUSOPT_VECTOR_CLONES void
depthwiseTokensRow(const float *img, float *out, int64_t oy, int64_t h,
                   int64_t w, int64_t wo, int64_t c, int64_t k, int64_t s,
                   int64_t p, const float *taps, const float *bias,
                   bool addInput, bool gelu) {
  // The sliding form needs registers for 9 taps of a group: 16 channels
  // with AVX-512's 32 registers, 8 with AVX2's 16.
#ifdef CLUSOPT_WIDE_GEMM
  static const int64_t width = hasAvx512() ? 16 : 8;
#else
  constexpr int64_t width = 8;
#endif
  // 3x3 (the MLP's) and 7x7 (the clustering net's), stride 1, same
  // padding, on rows whose whole window is inside the image.
  bool sliding = (k == 3 || k == 7) && s == 1 && p == k / 2 && oy >= p &&
                 oy + p < h && w >= k && c % width == 0;
  if (!sliding) {
    depthwisePixels(img, out, oy, h, w, c, k, s, p, taps, bias, addInput, gelu,
                    0, wo);
    return;
  }
  depthwisePixels(img, out, oy, h, w, c, k, s, p, taps, bias, addInput, gelu, 0,
                  p);
  depthwisePixels(img, out, oy, h, w, c, k, s, p, taps, bias, addInput, gelu,
                  wo - p, wo);
  // 3x3 applies GELU to each vector as it stores it; the 7x7 (the
  // clustering net's) in a pass after the row.
  bool fuseGelu = gelu && k == 3 && geluVectorised();
#ifdef CLUSOPT_WIDE_GEMM
  if (width == 16)
    depthwiseInteriorWide(img, out, oy, w, c, k, taps, bias, addInput,
                          fuseGelu);
  else
#endif
    // 8 channels; AVX2's 16 registers take the 7x7 group by group.
    depthwiseInterior<8, 8>(img, out, oy, w, c, k, taps, bias, addInput,
                            fuseGelu);
  if (gelu && !fuseGelu)
    geluSpan(out + p * c, (wo - 2 * p) * c);
}

} // namespace

Expected<Tensor> Conv2d::onTokens(const Tensor &x, int64_t h, int64_t w,
                                  bool addInput, bool gelu) const {
  if (Error err = expectF32("conv2d", "tokens", x, 3))
    return std::move(err);
  int64_t b = x.dim(0), k = kernel_, s = stride_, p = padding_;
  if (x.dim(1) != h * w || x.dim(2) != cin_)
    return layerError("conv2d",
                      llvm::formatv("tokens {0} are not a {1}x{2} image of {3} "
                                    "channels",
                                    shapeString(x.shape()), h, w, cin_));
  if (h + 2 * p < k || w + 2 * p < k)
    return layerError("conv2d", llvm::formatv("image {0}x{1} is smaller than "
                                              "the {2}x{2} kernel",
                                              h, w, k));
  int64_t ho = outputSize(h), wo = outputSize(w);
  if (addInput && (groups_ == 1 || ho != h || wo != w))
    return layerError("conv2d", "the shortcut needs a depthwise convolution "
                                "with a same-size output");
  const float *in = x.data<float>();

  if (groups_ == 1) {
    // The GEMM over rows (b, oy, ox) writes tokens directly. It reads the
    // windows from the image (implicit im2col) when a window row is long
    // enough for the micro-kernel (PaCa's stem1 1.7x faster than through
    // an im2col buffer), else from an im2col buffer (the RGB stem, where
    // a window row is 9 floats). A 1x1 stride-1 convolution is the GEMM
    // alone.
    auto y = Tensor::empty(DType::F32, {b, ho * wo, cout_});
    if (!y)
      return y.takeError();
    Linear::Io io;
    io.x = in;
    io.y = y->data<float>();
    io.gelu = gelu;
    Tensor cols;
    bool pointwise = k == 1 && s == 1 && p == 0;
    if (!pointwise && k * cin_ >= kMinWindowRow) {
      io.hasWindow = true;
      io.window = Linear::Io::Window{h, w, cin_, k, s, p, ho, wo};
    } else if (!pointwise) {
      int64_t depth = k * k * cin_;
      auto buffer = Tensor::empty(DType::F32, {b * ho * wo, depth});
      if (!buffer)
        return buffer.takeError();
      cols = std::move(*buffer);
      float *col = cols.data<float>();
      ThreadPool::parallelFor(0, b * ho, [&](int64_t row) {
        int64_t bi = row / ho, oy = row % ho;
        for (int64_t ox = 0; ox < wo; ++ox)
          gatherWindow(in + bi * h * w * cin_, col + (row * wo + ox) * depth,
                       oy, ox, h, w, cin_, k, s, p);
      });
      io.x = cols.data<float>();
    }
    gemm_.run(io, b * ho * wo);
    return y;
  }

  auto y = Tensor::empty(DType::F32, {b, ho * wo, cout_});
  if (!y)
    return y.takeError();
  std::vector<float> zeros;
  const float *bias = bias_ ? bias_->data<float>() : nullptr;
  if (!bias) {
    zeros.assign(cout_, 0.0f);
    bias = zeros.data();
  }
  const float *taps = weightT_.data<float>();
  float *out = y->data<float>();
  int64_t c = cout_;
  ThreadPool::parallelFor(0, b * ho, [&](int64_t row) {
    int64_t bi = row / ho, oy = row % ho;
    depthwiseTokensRow(in + bi * h * w * c, out + row * wo * c, oy, h, w, wo, c,
                       k, s, p, taps, bias, addInput, gelu);
  });
  return y;
}

//===----------------------------------------------------------------------===//
// Normalisation, activation, reductions
//===----------------------------------------------------------------------===//

static Error checkNormParams(llvm::StringRef layer, const Tensor &weight,
                             const Tensor &bias, int64_t channels) {
  for (const Tensor *t : {&weight, &bias}) {
    if (Error err = expectF32(layer, "weight and bias", *t, 1))
      return err;
    if (t->dim(0) != channels)
      return layerError(layer,
                        llvm::formatv("parameter has {0} elements for {1} "
                                      "channels",
                                      t->dim(0), channels));
  }
  return Error::success();
}

namespace {

// Σ term(v[i]) over [0, n), reassociated so that the loop vectoriser keeps
// two vector partial sums (clang will not reorder a float sum on its own).
// Written as 16 scalar lanes and a tree instead, SLP vectorised it into
// 2-float pieces: PaCa's LayerNorms took 0.52x (3136x96), 0.57x (784x192)
// and 0.55x (196x320) the time this way, 2 threads, in L2.
template <typename Term>
[[gnu::always_inline]] inline float laneSum(const float *v, int64_t n,
                                            Term term) {
#pragma clang fp reassociate(on)
  float sum = 0.0f;
#pragma clang loop vectorize_width(16) interleave_count(2)
  for (int64_t i = 0; i < n; ++i)
    sum += term(v[i]);
  return sum;
}

CLUSOPT_VECTOR_CLONES void layerNormRows(const float *in, float *out,
                                         int64_t rows, int64_t c,
                                         const float *g, const float *be,
                                         float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *src = in + r * c;
    float *dst = out + r * c;
    float mean =
        laneSum(src, c, [](float v) { return v; }) / static_cast<float>(c);
    float var =
        laneSum(src, c, [mean](float v) { return (v - mean) * (v - mean); }) /
        static_cast<float>(c);
    float inv = 1.0f / std::sqrt(var + eps);
    for (int64_t i = 0; i < c; ++i)
      dst[i] = (src[i] - mean) * inv * g[i] + be[i];
  }
}

CLUSOPT_VECTOR_CLONES void addSpan(float *a, const float *b, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    a[i] += b[i];
}

} // namespace

Expected<Tensor> clusopt::runtime::layerNorm(const Tensor &x,
                                             const Tensor &weight,
                                             const Tensor &bias, float eps) {
  if (Error err = expectF32("layer_norm", "input", x))
    return std::move(err);
  if (x.rank() < 1)
    return layerError("layer_norm", "input must have rank >= 1");
  int64_t c = x.dim(x.rank() - 1);
  if (Error err = checkNormParams("layer_norm", weight, bias, c))
    return std::move(err);
  auto y = Tensor::empty(DType::F32, x.shape());
  if (!y)
    return y.takeError();
  const float *in = x.data<float>(), *g = weight.data<float>(),
              *be = bias.data<float>();
  float *out = y->data<float>();
  int64_t rows = c ? x.numElements() / c : 0;
  constexpr int64_t kRowsPerTask = 16;
  ThreadPool::parallelFor(
      0, (rows + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
        int64_t r0 = task * kRowsPerTask;
        layerNormRows(in + r0 * c, out + r0 * c,
                      std::min(kRowsPerTask, rows - r0), c, g, be, eps);
      });
  return y;
}

Expected<Tensor> clusopt::runtime::layerNorm2d(const Tensor &x,
                                               const Tensor &weight,
                                               const Tensor &bias, float eps) {
  if (Error err = expectF32("layer_norm_2d", "input", x, 4))
    return std::move(err);
  int64_t b = x.dim(0), c = x.dim(1), pixels = x.dim(2) * x.dim(3);
  if (Error err = checkNormParams("layer_norm_2d", weight, bias, c))
    return std::move(err);
  auto y = Tensor::empty(DType::F32, x.shape());
  if (!y)
    return y.takeError();
  const float *in = x.data<float>(), *g = weight.data<float>(),
              *be = bias.data<float>();
  float *out = y->data<float>();
  // Channels are strided by H·W, so each task normalises a strip of
  // pixels with per-pixel sums that vectorise across the strip.
  constexpr int64_t kStrip = 64;
  int64_t strips = (pixels + kStrip - 1) / kStrip;
  ThreadPool::parallelFor(0, b * strips, [&](int64_t task) {
    int64_t bi = task / strips, p0 = (task % strips) * kStrip;
    int64_t n = std::min(kStrip, pixels - p0);
    const float *src = in + bi * c * pixels + p0;
    float *dst = out + bi * c * pixels + p0;
    float mean[kStrip] = {}, var[kStrip] = {};
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < n; ++i)
        mean[i] += src[ch * pixels + i];
    for (int64_t i = 0; i < n; ++i)
      mean[i] /= static_cast<float>(c);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < n; ++i) {
        float d = src[ch * pixels + i] - mean[i];
        var[i] += d * d;
      }
    for (int64_t i = 0; i < n; ++i)
      var[i] = 1.0f / std::sqrt(var[i] / static_cast<float>(c) + eps);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < n; ++i)
        dst[ch * pixels + i] =
            (src[ch * pixels + i] - mean[i]) * var[i] * g[ch] + be[ch];
  });
  return y;
}

float clusopt::runtime::erfApprox(float a) { return erfRational(a); }

void clusopt::runtime::geluInPlace(Tensor &x) {
  float *v = x.data<float>();
  int64_t n = x.numElements();
  constexpr int64_t kChunk = 4096;
  ThreadPool::parallelFor(0, (n + kChunk - 1) / kChunk, [&](int64_t chunk) {
    int64_t begin = chunk * kChunk;
    geluSpan(v + begin, std::min(n, begin + kChunk) - begin);
  });
}

Expected<Tensor> clusopt::runtime::meanTokens(const Tensor &x) {
  if (Error err = expectF32("mean", "input", x, 3))
    return std::move(err);
  int64_t b = x.dim(0), n = x.dim(1), c = x.dim(2);
  auto y = Tensor::zeros(DType::F32, {b, c});
  if (!y)
    return y.takeError();
  const float *in = x.data<float>();
  float *out = y->data<float>();
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < c; ++i)
        out[bi * c + i] += in[(bi * n + t) * c + i];
    for (int64_t i = 0; i < c; ++i)
      out[bi * c + i] /= static_cast<float>(std::max<int64_t>(n, 1));
  }
  return y;
}

Error clusopt::runtime::addInPlace(Tensor &x, const Tensor &y) {
  if (Error err = expectF32("add", "lhs", x))
    return err;
  if (Error err = expectF32("add", "rhs", y))
    return err;
  if (x.shape() != y.shape())
    return layerError("add", llvm::formatv("shapes {0} and {1} differ",
                                           shapeString(x.shape()),
                                           shapeString(y.shape())));
  float *a = x.data<float>();
  const float *b = y.data<float>();
  int64_t n = x.numElements();
  constexpr int64_t kChunk = 16384;
  ThreadPool::parallelFor(0, (n + kChunk - 1) / kChunk, [&](int64_t chunk) {
    int64_t begin = chunk * kChunk;
    addSpan(a + begin, b + begin, std::min(n, begin + kChunk) - begin);
  });
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Layout changes
//===----------------------------------------------------------------------===//

namespace {

// Columns of an 8x8 block as rows: rows of src at stride ldSrc, of dst at
// ldDst. Three rounds of shuffles that clang maps to unpck/shufps/vperm2f128
// (the scalar loop moved a float per cycle: the clustering logits' transpose
// took 0.5 ms).
[[gnu::always_inline]] inline void transpose8x8(const float *src, int64_t ldSrc,
                                                float *dst, int64_t ldDst) {
  using Vec = VecOf<8>;
  Vec r[8], t[8], u[8];
  for (int64_t i = 0; i < 8; ++i)
    r[i] = loadVec<8>(src + i * ldSrc);
  for (int64_t i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] =
        __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int64_t i = 0; i < 8; i += 4)
    for (int64_t j = 0; j < 2; ++j) {
      u[i + 2 * j] = __builtin_shufflevector(t[i + j], t[i + j + 2], 0, 1, 8, 9,
                                             4, 5, 12, 13);
      u[i + 2 * j + 1] = __builtin_shufflevector(t[i + j], t[i + j + 2], 2, 3,
                                                 10, 11, 6, 7, 14, 15);
    }
  for (int64_t j = 0; j < 4; ++j) {
    storeVec<8>(dst + j * ldDst, __builtin_shufflevector(u[j], u[j + 4], 0, 1,
                                                         2, 3, 8, 9, 10, 11));
    storeVec<8>(
        dst + (j + 4) * ldDst,
        __builtin_shufflevector(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15));
  }
}

// Rows [i0, i1) by columns [j0, j1) of in [R, C] into out [C, R]: 8x8
// blocks, then single floats at the ragged edges.
CLUSOPT_VECTOR_CLONES void transposeTile(const float *in, float *out, int64_t r,
                                         int64_t c, int64_t i0, int64_t i1,
                                         int64_t j0, int64_t j1) {
  int64_t iFull = i0 + (i1 - i0) / 8 * 8, jFull = j0 + (j1 - j0) / 8 * 8;
  for (int64_t i = i0; i < iFull; i += 8)
    for (int64_t j = j0; j < jFull; j += 8)
      transpose8x8(in + i * c + j, c, out + j * r + i, r);
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t j = i < iFull ? jFull : j0; j < j1; ++j)
      out[j * r + i] = in[i * c + j];
}

} // namespace

// out[b][j][i] = in[b][i][j] for in [B, R, C], in 32x32 tiles.
static Expected<Tensor> transposeBatched(const Tensor &x, int64_t b, int64_t r,
                                         int64_t c,
                                         llvm::ArrayRef<int64_t> outShape) {
  auto y = Tensor::empty(DType::F32, outShape);
  if (!y)
    return y.takeError();
  const float *in = x.data<float>();
  float *out = y->data<float>();
  constexpr int64_t kTile = 32;
  int64_t rt = (r + kTile - 1) / kTile, ct = (c + kTile - 1) / kTile;
  ThreadPool::parallelFor(0, b * rt * ct, [&](int64_t task) {
    int64_t bi = task / (rt * ct), i0 = (task / ct) % rt * kTile,
            j0 = task % ct * kTile;
    transposeTile(in + bi * r * c, out + bi * r * c, r, c, i0,
                  std::min(r, i0 + kTile), j0, std::min(c, j0 + kTile));
  });
  return y;
}

Expected<Tensor> clusopt::runtime::imageToTokens(const Tensor &x) {
  if (Error err = expectF32("image_to_tokens", "input", x, 4))
    return std::move(err);
  int64_t b = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  return transposeBatched(x, b, c, hw, {b, hw, c});
}

Expected<Tensor> clusopt::runtime::tokensToImage(const Tensor &x, int64_t h,
                                                 int64_t w) {
  if (Error err = expectF32("tokens_to_image", "input", x, 3))
    return std::move(err);
  int64_t b = x.dim(0), n = x.dim(1), c = x.dim(2);
  if (n != h * w)
    return layerError(
        "tokens_to_image",
        llvm::formatv("{0} tokens are not a {1}x{2} image", n, h, w));
  return transposeBatched(x, b, n, c, {b, c, h, w});
}

Expected<Tensor> clusopt::runtime::transposeLast(const Tensor &x) {
  if (Error err = expectF32("transpose", "input", x, 3))
    return std::move(err);
  return transposeBatched(x, x.dim(0), x.dim(1), x.dim(2),
                          {x.dim(0), x.dim(2), x.dim(1)});
}

Expected<Tensor> clusopt::runtime::splitHeads(const Tensor &x, int64_t heads) {
  if (Error err = expectF32("split_heads", "input", x, 3))
    return std::move(err);
  int64_t b = x.dim(0), n = x.dim(1), c = x.dim(2);
  if (heads < 1 || c % heads)
    return layerError("split_heads", llvm::formatv("{0} channels do not split "
                                                   "into {1} heads",
                                                   c, heads));
  int64_t d = c / heads;
  auto y = Tensor::empty(DType::F32, {b, heads, n, d});
  if (!y)
    return y.takeError();
  const float *in = x.data<float>();
  float *out = y->data<float>();
  ThreadPool::parallelFor(0, b * n, [&](int64_t row) {
    int64_t bi = row / n, t = row % n;
    for (int64_t hd = 0; hd < heads; ++hd)
      std::memcpy(out + ((bi * heads + hd) * n + t) * d, in + row * c + hd * d,
                  d * sizeof(float));
  });
  return y;
}

Expected<Tensor> clusopt::runtime::mergeHeads(const Tensor &x) {
  if (Error err = expectF32("merge_heads", "input", x, 4))
    return std::move(err);
  int64_t b = x.dim(0), heads = x.dim(1), n = x.dim(2), d = x.dim(3);
  auto y = Tensor::empty(DType::F32, {b, n, heads * d});
  if (!y)
    return y.takeError();
  const float *in = x.data<float>();
  float *out = y->data<float>();
  ThreadPool::parallelFor(0, b * n, [&](int64_t row) {
    int64_t bi = row / n, t = row % n;
    for (int64_t hd = 0; hd < heads; ++hd)
      std::memcpy(out + row * heads * d + hd * d,
                  in + ((bi * heads + hd) * n + t) * d, d * sizeof(float));
  });
  return y;
}

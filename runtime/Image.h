//===- Image.h - PNG decoding and ImageNet preprocessing --------*- C++ -*-===//
//
// A small, strict PNG decoder (zlib for inflate and CRCs) and the
// preprocessing the models expect: RGB in [0, 1], a plain bilinear resize to
// R x R (no crop) and ImageNet normalisation, giving NCHW float32.
//
// Supported: bit depth 8, colour types grayscale (0), RGB (2), palette (3),
// gray+alpha (4) and RGBA (6), not interlaced, all five filter types. Alpha
// is dropped (as PIL's convert("RGB") does); tRNS and other ancillary
// chunks are ignored. Everything else (16-bit or sub-byte depths, Adam7
// interlacing, unknown critical chunks, bad CRCs, a zlib stream that does
// not inflate to exactly the size the header implies, data after IEND) is
// an error naming the input and the problem.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_IMAGE_H
#define CLUSOPT_RUNTIME_IMAGE_H

#include "runtime/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace clusopt::runtime {

/// An 8-bit RGB image, row-major HWC.
struct RgbImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels; // height * width * 3
};

/// Limits on what the decoder accepts (checked before any allocation that
/// depends on the header).
constexpr int64_t kMaxPngSide = 1 << 15;   // pixels per side
constexpr int64_t kMaxPngPixels = 1 << 26; // width * height

/// Whether `data` starts with the 8-byte PNG signature.
bool hasPngSignature(llvm::StringRef data);

/// Decodes a PNG held in memory; `name` prefixes every error message.
llvm::Expected<RgbImage> decodePng(llvm::StringRef data, llvm::StringRef name);

/// Reads and decodes the PNG at `path`.
llvm::Expected<RgbImage> readPng(llvm::StringRef path);

/// ImageNet mean and standard deviation per RGB channel.
constexpr double kImageNetMean[3] = {0.485, 0.456, 0.406};
constexpr double kImageNetStd[3] = {0.229, 0.224, 0.225};

/// The model input for `image`: f32 [batch, 3, resolution, resolution],
/// each of the `batch` images the same. Pixels become v / 255, the image is
/// resized to resolution x resolution with bilinear interpolation and
/// align_corners=false (half-pixel centres, source coordinates clamped at
/// 0, no antialiasing: torch.nn.functional.interpolate(mode="bilinear",
/// align_corners=False), i.e. torchvision's Resize on tensors with
/// antialias=False; no crop, so the aspect ratio is not kept), then
/// (x - mean) / std with the ImageNet constants. Computed in double, stored
/// as float.
llvm::Expected<Tensor> preprocessImage(const RgbImage &image,
                                       int64_t resolution, int64_t batch = 1);

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_IMAGE_H

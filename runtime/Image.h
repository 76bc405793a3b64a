//===- Image.h - Image decoding and ImageNet preprocessing ------*- C++ -*-===//
//
// PNG and JPEG decoding through libpng and libjpeg-turbo, and the
// preprocessing the models expect: RGB in [0, 1], a plain bilinear resize to
// R x R (no crop) and ImageNet normalisation, giving NCHW float32.
//
// PNG: every bit depth and colour type, interlaced or not. Palettes are
// expanded, gray is replicated to RGB, alpha is dropped (as PIL's
// convert("RGB") does) and 16-bit samples keep their high byte (PIL clips
// 16-bit gray to 255 instead). Ancillary chunks (gamma, ICC profiles, tRNS,
// text) are ignored. JPEG: baseline and progressive, gray, YCbCr, RGB, and
// CMYK/YCCK converted as PIL does (Adobe-inverted when the file has an Adobe
// marker, then R = (255 - C) * (255 - K) / 255). EXIF orientation is not
// applied (PIL and timm do not either).
//
// A header larger than the pixel limit is refused before anything is
// allocated for it; a truncated or corrupt file is an error naming the input
// and the problem (the libraries' errors return through longjmp, never
// exit()).
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

/// Limits on what the decoders accept (checked on the header, before any
/// allocation that depends on it).
constexpr int64_t kMaxImageSide = 1 << 15;   // pixels per side
constexpr int64_t kMaxImagePixels = 1 << 26; // width * height
/// Progressive JPEGs with thousands of tiny scans take minutes to decode;
/// real encoders write about ten.
constexpr int kMaxJpegScans = 1000;

enum class ImageFormat { Png, Jpeg, Unknown };

/// The format by its signature: PNG's 8 bytes or JPEG's FF D8 FF.
ImageFormat sniffImageFormat(llvm::StringRef data);

/// Decode an image held in memory; `name` prefixes every error message.
llvm::Expected<RgbImage> decodePng(llvm::StringRef data, llvm::StringRef name);
llvm::Expected<RgbImage> decodeJpeg(llvm::StringRef data, llvm::StringRef name);
/// PNG or JPEG by the signature (not the file name).
llvm::Expected<RgbImage> decodeImage(llvm::StringRef data,
                                     llvm::StringRef name);

/// Reads the file at `path` (clusopt::readInputFile: a regular file of at
/// most 1 GiB) and decodes it with decodeImage.
llvm::Expected<RgbImage> readImage(llvm::StringRef path);

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

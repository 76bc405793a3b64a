//===- Image.h - Image decoding and ImageNet preprocessing ------*- C++ -*-===//
//
// PNG and JPEG decoding through libpng and libjpeg-turbo, and the
// preprocessing timm evaluates with: an antialiased bicubic (or bilinear)
// resize as PIL's, a centre crop, RGB in [0, 1] and ImageNet normalisation,
// giving NCHW float32.
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
#include <utility>
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

/// PIL's resampling filters (Image.BICUBIC, a = -0.5, and Image.BILINEAR),
/// antialiased: when downscaling, the support grows with the scale.
enum class Interpolation { Bicubic, Bilinear };

/// Evaluation preprocessing as timm does it (transforms_imagenet_eval):
/// resize so that the image covers floor(size / cropPct) (per side), keeping
/// the aspect ratio, then crop the centre to height x width.
struct PreprocessOptions {
  int64_t height = 224, width = 224;
  double cropPct = 0.875; // 0.01 to 1
  Interpolation interpolation = Interpolation::Bicubic;
};

/// The size (height, width) the image is resized to before the crop. Square
/// targets follow torchvision's Resize(int): the shorter side becomes
/// floor(size / cropPct), the longer int(that * long / short); other
/// targets timm's ResizeKeepRatio: scale by min(h / sh, w / sw) and round
/// each side.
std::pair<int64_t, int64_t> resizedSize(int64_t imageHeight, int64_t imageWidth,
                                        const PreprocessOptions &options);

/// Resizes `image` as PIL's Image.resize((width, height), filter) does for
/// RGB: separable, horizontal pass first, 8-bit intermediate, the same
/// fixed-point coefficients and rounding (so results match PIL exactly).
/// Only the window of windowHeight x windowWidth pixels at (top, left) of
/// the resized image is computed and returned (-1: the whole of it).
RgbImage resizeImage(const RgbImage &image, int64_t height, int64_t width,
                     Interpolation interpolation, int64_t top = 0,
                     int64_t left = 0, int64_t windowHeight = -1,
                     int64_t windowWidth = -1);

/// The model input for `image`: f32 [batch, 3, height, width], each of the
/// `batch` images the same: resizeImage to resizedSize, a centre crop (top
/// and left offsets rounded half to even, as torchvision's CenterCrop), v /
/// 255, then (x - mean) / std with the ImageNet constants, computed in
/// double and stored as float.
llvm::Expected<Tensor> preprocessImage(const RgbImage &image,
                                       const PreprocessOptions &options,
                                       int64_t batch = 1);

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_IMAGE_H

//===- Image.cpp - Image decoding and ImageNet preprocessing --------------===//
//
// libpng and libjpeg report errors through callbacks that must not return;
// ours record the message and longjmp back to the setjmp in the decoding
// function. Nothing with a destructor lives in the frames that longjmp
// skips (libpng's, libjpeg's and the callbacks'), and the decoding
// functions keep their C++ objects in the caller's frame.
//
//===----------------------------------------------------------------------===//

#include "runtime/Image.h"

#include "clusopt/Support/InputFile.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <jpeglib.h> // after stdio (in png.h): jpeglib.h needs FILE
#include <png.h>

#include <jerror.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstring>

using namespace llvm;

namespace clusopt::runtime {

namespace {

constexpr char kPngSignature[] = "\x89PNG\r\n\x1a\n";

/// The limit check shared by both decoders; empty when the size is fine.
std::string checkSize(uint64_t width, uint64_t height) {
  if (width == 0 || height == 0)
    return formatv("invalid size {0}x{1}", width, height);
  if (width > uint64_t(kMaxImageSide) || height > uint64_t(kMaxImageSide) ||
      width * height > uint64_t(kMaxImagePixels))
    return formatv("{0}x{1} is larger than the limit ({2} per side, {3} "
                   "pixels)",
                   width, height, kMaxImageSide, kMaxImagePixels);
  return "";
}

//===----------------------------------------------------------------------===//
// PNG
//===----------------------------------------------------------------------===//

struct PngContext {
  StringRef data;
  size_t pos = 8; // after the signature, which decodePng checks
  char message[512] = {};
  char lastWarning[200] = {};
};

[[noreturn]] void pngError(png_structp png, png_const_charp message) {
  auto *ctx = static_cast<PngContext *>(png_get_error_ptr(png));
  // libpng explains some errors in the warning before them ("Invalid IHDR
  // data" after "Image width is zero in IHDR").
  if (ctx->lastWarning[0])
    std::snprintf(ctx->message, sizeof(ctx->message), "%s (%s)", message,
                  ctx->lastWarning);
  else
    std::snprintf(ctx->message, sizeof(ctx->message), "%s", message);
  png_longjmp(png, 1);
}

// Warnings (a bad ancillary chunk, extra image data) do not stop decoding,
// as in PIL; the last one is kept for the error that may follow.
void pngWarning(png_structp png, png_const_charp message) {
  auto *ctx = static_cast<PngContext *>(png_get_error_ptr(png));
  std::snprintf(ctx->lastWarning, sizeof(ctx->lastWarning), "%s", message);
}

void pngRead(png_structp png, png_bytep out, size_t size) {
  auto *ctx = static_cast<PngContext *>(png_get_io_ptr(png));
  if (ctx->data.size() - ctx->pos < size)
    png_error(png, "the file ends early (truncated?)");
  std::memcpy(out, ctx->data.data() + ctx->pos, size);
  ctx->pos += size;
}

/// Decodes into `image` (whose pixels are sized here); false with
/// ctx.message set on an error.
bool decodePngInto(PngContext &ctx, RgbImage &image,
                   std::vector<png_bytep> &rows) {
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, pngError, pngWarning);
  if (!png) {
    std::snprintf(ctx.message, sizeof(ctx.message), "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    if (!info)
      std::snprintf(ctx.message, sizeof(ctx.message), "out of memory");
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    return false;
  }
  png_set_read_fn(png, &ctx, pngRead);
  png_set_sig_bytes(png, 8);
  // Only IHDR, PLTE, IDAT and IEND matter: every ancillary chunk is
  // skipped unparsed (fewer warnings, less code reached by bad input).
  static const png_byte ignored[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0"
                                    "iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0sCAL\0"
                                    "sPLT\0sRGB\0tEXt\0tIME\0tRNS\0zTXt";
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, nullptr, 0);
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, ignored,
                              sizeof(ignored) / 5);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // Fuzzer builds skip CRC checks so that mutations reach the parser.
  png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
#endif
  png_read_info(png, info);

  png_uint_32 width = png_get_image_width(png, info),
              height = png_get_image_height(png, info);
  std::string sizeError = checkSize(width, height);
  if (!sizeError.empty()) {
    std::snprintf(ctx.message, sizeof(ctx.message), "%s", sizeError.c_str());
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  // Deflate expands at most about 1032:1, so a file far too small for the
  // image its header declares is refused before the pixels are allocated.
  size_t channels = png_get_channels(png, info),
         depth = png_get_bit_depth(png, info);
  uint64_t minimumData =
      uint64_t(height) * (1 + (uint64_t(width) * channels * depth + 7) / 8);
  if (minimumData / 1032 > ctx.data.size() + 64) {
    std::snprintf(ctx.message, sizeof(ctx.message),
                  "%zu bytes cannot hold the %llu bytes of image data a "
                  "%ux%u image needs (truncated?)",
                  ctx.data.size(), (unsigned long long)minimumData,
                  unsigned(width), unsigned(height));
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  int colorType = png_get_color_type(png, info);
  if (colorType == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (colorType == PNG_COLOR_TYPE_GRAY ||
      colorType == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_expand_gray_1_2_4_to_8(png);
    png_set_gray_to_rgb(png);
  }
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != size_t(width) * 3) {
    std::snprintf(ctx.message, sizeof(ctx.message),
                  "unexpected row size after conversion to RGB");
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  image.width = width;
  image.height = height;
  image.pixels.resize(size_t(width) * height * 3);
  rows.resize(height);
  for (size_t y = 0; y < height; ++y)
    rows[y] = image.pixels.data() + y * size_t(width) * 3;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

//===----------------------------------------------------------------------===//
// JPEG
//===----------------------------------------------------------------------===//

struct JpegErrorManager {
  jpeg_error_mgr base; // first: libjpeg passes &base
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64] = {};
};

[[noreturn]] void jpegErrorExit(j_common_ptr cinfo) {
  auto *err = reinterpret_cast<JpegErrorManager *>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings about damaged entropy data or a missing end mean the pixels are
// made up (libjpeg fills the rest with gray): errors, as PIL's "image file
// is truncated". Other warnings (extraneous bytes between markers, common
// in camera files) are ignored, as in PIL.
void jpegEmitMessage(j_common_ptr cinfo, int level) {
  if (level >= 0)
    return; // trace messages
  switch (cinfo->err->msg_code) {
  case JWRN_JPEG_EOF:
  case JWRN_HIT_MARKER:
  case JWRN_HUFF_BAD_CODE:
  case JWRN_MUST_RESYNC:
    jpegErrorExit(cinfo);
  default:
    break;
  }
}

void jpegProgress(j_common_ptr cinfo) {
  auto *d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    auto *err = reinterpret_cast<JpegErrorManager *>(cinfo->err);
    std::snprintf(err->message, sizeof(err->message),
                  "more than %d progressive scans", kMaxJpegScans);
    std::longjmp(err->jump, 1);
  }
}

/// libjpeg's CMYK as PIL converts it: Adobe files store inverted values.
void cmykToRgb(const uint8_t *cmyk, uint8_t *rgb, size_t width, bool inverted) {
  for (size_t x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    unsigned k = inverted ? cmyk[3] : 255 - cmyk[3];
    for (int c = 0; c < 3; ++c) {
      unsigned v = (inverted ? cmyk[c] : 255 - cmyk[c]) * k + 128;
      rgb[c] = uint8_t((v + (v >> 8)) >> 8); // PIL's MULDIV255
    }
  }
}

bool decodeJpegInto(StringRef data, JpegErrorManager &err, RgbImage &image,
                    std::vector<uint8_t> &cmykRow) {
  jpeg_decompress_struct cinfo;
  jpeg_progress_mgr progress;
  cinfo.err = jpeg_std_error(&err.base);
  err.base.error_exit = jpegErrorExit;
  err.base.emit_message = jpegEmitMessage;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  progress.progress_monitor = jpegProgress;
  cinfo.progress = &progress;
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char *>(data.data()),
               static_cast<unsigned long>(data.size()));
  jpeg_read_header(&cinfo, TRUE);
  std::string sizeError = checkSize(cinfo.image_width, cinfo.image_height);
  if (!sizeError.empty()) {
    std::snprintf(err.message, sizeof(err.message), "%s", sizeError.c_str());
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  bool cmyk =
      cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  size_t width = cinfo.output_width, height = cinfo.output_height;
  if (cinfo.output_components != (cmyk ? 4 : 3)) {
    std::snprintf(err.message, sizeof(err.message),
                  "%d components after colour conversion",
                  cinfo.output_components);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  image.width = int64_t(width);
  image.height = int64_t(height);
  image.pixels.resize(width * height * 3);
  if (cmyk)
    cmykRow.resize(width * 4);
  while (cinfo.output_scanline < height) {
    uint8_t *row = image.pixels.data() + cinfo.output_scanline * width * 3;
    JSAMPROW target = cmyk ? cmykRow.data() : row;
    jpeg_read_scanlines(&cinfo, &target, 1);
    if (cmyk)
      cmykToRgb(cmykRow.data(), row, width, cinfo.saw_Adobe_marker);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

} // namespace

ImageFormat sniffImageFormat(StringRef data) {
  if (data.starts_with(StringRef(kPngSignature, 8)))
    return ImageFormat::Png;
  if (data.starts_with("\xff\xd8\xff"))
    return ImageFormat::Jpeg;
  return ImageFormat::Unknown;
}

Expected<RgbImage> decodePng(StringRef data, StringRef name) {
  if (sniffImageFormat(data) != ImageFormat::Png)
    return createStringError(
        (name + ": bad PNG: missing the PNG signature").str());
  PngContext ctx;
  ctx.data = data;
  RgbImage image;
  std::vector<png_bytep> rows;
  if (!decodePngInto(ctx, image, rows))
    return createStringError((name + ": bad PNG: " + ctx.message).str());
  return image;
}

Expected<RgbImage> decodeJpeg(StringRef data, StringRef name) {
  if (sniffImageFormat(data) != ImageFormat::Jpeg)
    return createStringError(
        (name + ": bad JPEG: missing the JPEG signature (FF D8 FF)").str());
  JpegErrorManager err;
  RgbImage image;
  std::vector<uint8_t> cmykRow;
  if (!decodeJpegInto(data, err, image, cmykRow))
    return createStringError((name + ": bad JPEG: " + err.message).str());
  return image;
}

Expected<RgbImage> decodeImage(StringRef data, StringRef name) {
  switch (sniffImageFormat(data)) {
  case ImageFormat::Png:
    return decodePng(data, name);
  case ImageFormat::Jpeg:
    return decodeJpeg(data, name);
  case ImageFormat::Unknown:
    break;
  }
  return createStringError(
      (name + ": not a PNG or JPEG image (no PNG or JPEG signature)").str());
}

Expected<RgbImage> readImage(StringRef path) {
  auto buffer = readInputFile(path, kImageInput);
  if (!buffer)
    return buffer.takeError();
  return decodeImage((*buffer)->getBuffer(), path);
}

//===----------------------------------------------------------------------===//
// Preprocessing
//===----------------------------------------------------------------------===//

namespace {

double bicubicFilter(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double bilinearFilter(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// PIL's Resample.c: coefficients with 22 fraction bits, sums started at
// one half, results clipped to 0..255.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Taps {
  int64_t ksize = 0;
  std::vector<int64_t> first, count; // per output index
  std::vector<int32_t> weights;      // [out][ksize], fixed point
};

// precompute_coeffs and normalize_coeffs_8bpc, for outputs [begin, begin +
// count) of outSize.
Taps computeTaps(int64_t inSize, int64_t outSize, int64_t begin, int64_t count,
                 Interpolation filter) {
  double support = filter == Interpolation::Bicubic ? 2.0 : 1.0;
  double (*kernel)(double) =
      filter == Interpolation::Bicubic ? bicubicFilter : bilinearFilter;
  double scale = double(inSize) / double(outSize);
  double filterScale = std::max(scale, 1.0);
  support *= filterScale;
  Taps taps;
  taps.ksize = int64_t(std::ceil(support)) * 2 + 1;
  taps.first.resize(count);
  taps.count.resize(count);
  taps.weights.assign(count * taps.ksize, 0);
  std::vector<double> k(taps.ksize);
  double inverseScale = 1.0 / filterScale; // multiplied, as PIL does
  for (int64_t o = 0; o < count; ++o) {
    double center = (double(begin + o) + 0.5) * scale;
    int64_t lo = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    int64_t hi = std::min<int64_t>(int64_t(center + support + 0.5), inSize);
    double sum = 0.0;
    for (int64_t i = 0; i < hi - lo; ++i) {
      k[i] = kernel((double(i + lo) - center + 0.5) * inverseScale);
      sum += k[i];
    }
    for (int64_t i = 0; i < hi - lo; ++i) {
      double w = sum != 0.0 ? k[i] / sum : k[i];
      w *= double(1 << kPrecisionBits);
      taps.weights[o * taps.ksize + i] = int32_t(w < 0 ? -0.5 + w : 0.5 + w);
    }
    taps.first[o] = lo;
    taps.count[o] = hi - lo;
  }
  return taps;
}

uint8_t clip8(int64_t v) {
  if (v >= (int64_t(1) << kPrecisionBits << 8))
    return 255;
  if (v <= 0)
    return 0;
  return uint8_t(v >> kPrecisionBits);
}

} // namespace

std::pair<int64_t, int64_t> resizedSize(int64_t imageHeight, int64_t imageWidth,
                                        const PreprocessOptions &options) {
  int64_t scaledH =
              int64_t(std::floor(double(options.height) / options.cropPct)),
          scaledW =
              int64_t(std::floor(double(options.width) / options.cropPct));
  if (scaledH == scaledW) {
    // torchvision's Resize(int): the shorter side to the size.
    int64_t shortSide = std::min(imageHeight, imageWidth),
            longSide = std::max(imageHeight, imageWidth);
    int64_t newLong = int64_t(double(scaledH * longSide) / double(shortSide));
    return imageWidth <= imageHeight ? std::pair(newLong, scaledH)
                                     : std::pair(scaledH, newLong);
  }
  // timm's ResizeKeepRatio (longest=0): Python's round, half to even.
  double ratio = std::min(double(imageHeight) / double(scaledH),
                          double(imageWidth) / double(scaledW));
  return {int64_t(std::nearbyint(double(imageHeight) / ratio)),
          int64_t(std::nearbyint(double(imageWidth) / ratio))};
}

RgbImage resizeImage(const RgbImage &image, int64_t height, int64_t width,
                     Interpolation interpolation, int64_t top, int64_t left,
                     int64_t windowHeight, int64_t windowWidth) {
  if (windowHeight < 0)
    windowHeight = height;
  if (windowWidth < 0)
    windowWidth = width;
  RgbImage out;
  out.width = windowWidth;
  out.height = windowHeight;
  out.pixels.resize(size_t(windowWidth * windowHeight * 3));
  if (height == image.height && width == image.width) {
    for (int64_t y = 0; y < windowHeight; ++y)
      std::memcpy(out.pixels.data() + y * windowWidth * 3,
                  image.pixels.data() + ((y + top) * width + left) * 3,
                  size_t(windowWidth * 3));
    return out;
  }
  Taps xs = computeTaps(image.width, width, left, windowWidth, interpolation);
  Taps ys = computeTaps(image.height, height, top, windowHeight, interpolation);
  // The horizontal pass first, on the rows the vertical pass reads, into an
  // 8-bit image as in PIL. PIL skips a pass whose size does not change;
  // its taps would be the identity anyway.
  int64_t rowFirst = ys.first[0],
          rowEnd = ys.first[windowHeight - 1] + ys.count[windowHeight - 1];
  bool horizontal = width != image.width, vertical = height != image.height;
  if (!horizontal) {
    rowFirst = 0;
    rowEnd = image.height;
  }
  RgbImage wide;
  if (horizontal) {
    wide.width = windowWidth;
    wide.height = vertical ? rowEnd - rowFirst : windowHeight;
    if (!vertical)
      rowFirst = top;
    wide.pixels.resize(size_t(wide.width * wide.height * 3));
    for (int64_t y = 0; y < wide.height; ++y) {
      const uint8_t *in =
          image.pixels.data() + (y + rowFirst) * image.width * 3;
      uint8_t *dst = wide.pixels.data() + y * windowWidth * 3;
      for (int64_t x = 0; x < windowWidth; ++x) {
        const int32_t *k = xs.weights.data() + x * xs.ksize;
        const uint8_t *p = in + xs.first[x] * 3;
        int64_t sum[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1),
                          1 << (kPrecisionBits - 1)};
        for (int64_t i = 0; i < xs.count[x]; ++i)
          for (int c = 0; c < 3; ++c)
            sum[c] += int64_t(p[i * 3 + c]) * k[i];
        for (int c = 0; c < 3; ++c)
          dst[x * 3 + c] = clip8(sum[c]);
      }
    }
    if (!vertical)
      return wide;
  }
  // The vertical pass reads `wide`, or the source's columns of the window.
  const uint8_t *source =
      horizontal ? wide.pixels.data() : image.pixels.data() + left * 3;
  int64_t sourceStride = (horizontal ? windowWidth : image.width) * 3;
  for (int64_t y = 0; y < windowHeight; ++y) {
    const int32_t *k = ys.weights.data() + y * ys.ksize;
    const uint8_t *in = source + (ys.first[y] - rowFirst) * sourceStride;
    uint8_t *dst = out.pixels.data() + y * windowWidth * 3;
    for (int64_t x = 0; x < windowWidth * 3; ++x) {
      int64_t sum = 1 << (kPrecisionBits - 1);
      for (int64_t i = 0; i < ys.count[y]; ++i)
        sum += int64_t(in[i * sourceStride + x]) * k[i];
      dst[x] = clip8(sum);
    }
  }
  return out;
}

Expected<Tensor> preprocessImage(const RgbImage &image,
                                 const PreprocessOptions &options,
                                 int64_t batch) {
  int64_t height = options.height, width = options.width;
  if (height < 1 || width < 1 || batch < 1 || !(options.cropPct >= 0.01) ||
      options.cropPct > 1)
    return createStringError(
        formatv("preprocessImage: size {0}x{1} and batch {2} must be "
                "positive, the crop fraction {3} from 0.01 to 1",
                height, width, batch, options.cropPct)
            .str());
  if (image.width < 1 || image.height < 1 ||
      image.pixels.size() != size_t(image.width * image.height * 3))
    return createStringError("preprocessImage: malformed image");
  auto [scaledH, scaledW] = resizedSize(image.height, image.width, options);
  // The scaled image covers the crop when cropPct <= 1; the guard keeps a
  // rounding surprise from reading outside it.
  if (scaledH < height || scaledW < width)
    return createStringError(
        formatv("preprocessImage: {0}x{1} resized to {2}x{3} does not cover "
                "the {4}x{5} crop",
                image.height, image.width, scaledH, scaledW, height, width)
            .str());
  auto t = Tensor::empty(DType::F32, {batch, 3, height, width});
  if (!t)
    return t.takeError();
  // torchvision's CenterCrop: int(round((size - crop) / 2.0)). Only the
  // crop is resized (each output pixel depends only on its own position).
  int64_t top = int64_t(std::nearbyint(double(scaledH - height) / 2.0));
  int64_t left = int64_t(std::nearbyint(double(scaledW - width) / 2.0));
  RgbImage crop = resizeImage(image, scaledH, scaledW, options.interpolation,
                              top, left, height, width);

  float *out = t->data<float>();
  int64_t plane = height * width;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < height; ++y) {
      const uint8_t *row = crop.pixels.data() + y * width * 3 + c;
      float *dst = out + c * plane + y * width;
      for (int64_t x = 0; x < width; ++x)
        dst[x] =
            float((row[x * 3] / 255.0 - kImageNetMean[c]) / kImageNetStd[c]);
    }
  for (int64_t b = 1; b < batch; ++b)
    std::memcpy(out + b * 3 * plane, out, size_t(3 * plane) * sizeof(float));
  return t;
}

} // namespace clusopt::runtime

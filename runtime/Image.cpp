//===- Image.cpp - PNG decoding and ImageNet preprocessing ----------------===//

#include "runtime/Image.h"

#include "lib/Support/InputFile.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace llvm;

namespace clusopt::runtime {

namespace {

constexpr char kSignature[] = "\x89PNG\r\n\x1a\n";

uint32_t readBE32(const char *p) {
  return uint32_t(uint8_t(p[0])) << 24 | uint32_t(uint8_t(p[1])) << 16 |
         uint32_t(uint8_t(p[2])) << 8 | uint32_t(uint8_t(p[3]));
}

int paeth(int a, int b, int c) {
  int p = a + b - c;
  int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc)
    return a;
  return pb <= pc ? b : c;
}

// Inflates `in` into exactly `out.size()` bytes; anything else is an error
// message (empty on success).
std::string inflateExact(StringRef in, std::vector<uint8_t> &out) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit(&zs) != Z_OK)
    return "cannot initialise zlib";
  // zlib's avail_* are 32-bit; the limits keep every size well below that.
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  std::string error;
  if (rc == Z_STREAM_END) {
    if (zs.total_out != out.size())
      error = formatv("image data inflates to {0} bytes, the header implies "
                      "{1}",
                      zs.total_out, out.size());
    else if (zs.avail_in != 0)
      error = formatv("{0} bytes of IDAT data after the end of the zlib "
                      "stream",
                      zs.avail_in);
  } else if (rc == Z_BUF_ERROR && zs.avail_out == 0) {
    // Full: is there more output, or only an unfinished stream?
    uint8_t extra;
    zs.next_out = &extra;
    zs.avail_out = 1;
    rc = inflate(&zs, Z_FINISH);
    if (zs.avail_out == 0)
      error = formatv("image data inflates to more than the {0} bytes the "
                      "header implies",
                      out.size());
    else if (rc == Z_STREAM_END)
      error = formatv("{0} bytes of IDAT data after the end of the zlib "
                      "stream",
                      zs.avail_in);
    else if (rc == Z_BUF_ERROR)
      error = "image data is truncated (the zlib stream does not end)";
    else
      error = std::string("corrupt image data (zlib: ") +
              (zs.msg ? zs.msg : "error " + std::to_string(rc)) + ")";
    if (rc == Z_STREAM_END && zs.avail_in == 0)
      error.clear();
  } else if (rc == Z_BUF_ERROR) {
    error = formatv("image data is truncated (the zlib stream ends after "
                    "{0} of {1} bytes)",
                    zs.total_out, out.size());
  } else {
    error = std::string("corrupt image data (zlib: ") +
            (zs.msg ? zs.msg : "error " + std::to_string(rc)) + ")";
  }
  inflateEnd(&zs);
  return error;
}

} // namespace

bool hasPngSignature(StringRef data) { return data.starts_with(kSignature); }

Expected<RgbImage> decodePng(StringRef data, StringRef name) {
  auto bad = [&](const Twine &why) -> Error {
    return createStringError((name + ": bad PNG: " + why).str());
  };
  auto unsupported = [&](const Twine &why) -> Error {
    return createStringError((name + ": unsupported PNG: " + why).str());
  };
  if (!hasPngSignature(data))
    return bad("missing the PNG signature");

  uint32_t width = 0, height = 0;
  unsigned colorType = 0, channels = 0;
  bool sawHeader = false, sawPalette = false, sawEnd = false;
  bool idatDone = false; // IDAT chunks seen and then another chunk
  uint8_t palette[256][3];
  unsigned paletteSize = 0;
  std::string idat;
  size_t pos = 8;
  while (!sawEnd) {
    if (data.size() - pos < 12)
      return bad(pos == data.size()
                     ? std::string("no IEND chunk (truncated?)")
                     : "the file ends inside the chunk header "
                       "at offset " +
                           std::to_string(pos) + " (truncated?)");
    uint32_t length = readBE32(data.data() + pos);
    StringRef type = data.substr(pos + 4, 4);
    if (length > 0x7fffffffu)
      return bad(formatv("chunk length {0} at offset {1} exceeds 2^31-1",
                         length, pos));
    if (length > data.size() - pos - 12)
      return bad(formatv("chunk '{0}' at offset {1} declares {2} bytes, the "
                         "file has {3} left (truncated?)",
                         type, pos, length, data.size() - pos - 12));
    for (char c : type)
      if (!isAlpha(c))
        return bad(
            formatv("chunk type at offset {0} is not four letters", pos));
    StringRef body = data.substr(pos + 8, length);
    uint32_t crc = readBE32(data.data() + pos + 8 + length);
    uLong want = crc32(0L, reinterpret_cast<const Bytef *>(type.data()), 4);
    want = crc32(want, reinterpret_cast<const Bytef *>(body.data()),
                 static_cast<uInt>(body.size()));
    // Fuzzer builds skip the CRC check so mutations reach the parser
    // (as libpng does); every other build checks it.
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (crc != want)
      return bad(formatv("CRC mismatch in chunk '{0}' at offset {1} (stored "
                         "{2:x8}, computed {3:x8})",
                         type, pos, crc, uint32_t(want)));
#else
    (void)crc, (void)want;
#endif
    pos += 12 + size_t(length);

    if (!sawHeader && type != "IHDR")
      return bad("the first chunk is '" + type + "', not IHDR");
    if (type == "IHDR") {
      if (sawHeader)
        return bad("more than one IHDR chunk");
      sawHeader = true;
      if (length != 13)
        return bad("IHDR is " + Twine(length) + " bytes, not 13");
      width = readBE32(body.data());
      height = readBE32(body.data() + 4);
      unsigned depth = uint8_t(body[8]);
      colorType = uint8_t(body[9]);
      unsigned compression = uint8_t(body[10]), filter = uint8_t(body[11]),
               interlace = uint8_t(body[12]);
      if (width == 0 || height == 0 || width > 0x7fffffffu ||
          height > 0x7fffffffu)
        return bad(formatv("invalid size {0}x{1}", width, height));
      switch (colorType) {
      case 0:
        channels = 1;
        break;
      case 2:
        channels = 3;
        break;
      case 3:
        channels = 1;
        break;
      case 4:
        channels = 2;
        break;
      case 6:
        channels = 4;
        break;
      default:
        return bad("invalid colour type " + Twine(colorType));
      }
      if (compression != 0 || filter != 0)
        return bad(formatv("invalid compression method {0} or filter method "
                           "{1}",
                           compression, filter));
      if (interlace > 1)
        return bad("invalid interlace method " + Twine(interlace));
      if (depth != 8)
        return unsupported(formatv("bit depth {0} (only 8-bit images are "
                                   "decoded)",
                                   depth));
      if (interlace == 1)
        return unsupported("Adam7 interlacing (save it non-interlaced)");
      if (width > kMaxPngSide || height > kMaxPngSide ||
          int64_t(width) * height > kMaxPngPixels)
        return unsupported(formatv("{0}x{1} is larger than the limit ({2} "
                                   "per side, {3} pixels)",
                                   width, height, kMaxPngSide, kMaxPngPixels));
    } else if (type == "PLTE") {
      if (sawPalette)
        return bad("more than one PLTE chunk");
      if (!idat.empty())
        return bad("PLTE after IDAT");
      sawPalette = true;
      if (length == 0 || length % 3 || length / 3 > 256)
        return bad("PLTE is " + Twine(length) +
                   " bytes, not 3 x 1..256 entries");
      paletteSize = length / 3;
      std::memcpy(palette, body.data(), length);
    } else if (type == "IDAT") {
      if (idatDone)
        return bad("IDAT chunks are not consecutive");
      if (colorType == 3 && !sawPalette)
        return bad("palette image without a PLTE chunk before IDAT");
      idat.append(body.data(), body.size());
    } else if (type == "IEND") {
      if (length != 0)
        return bad("IEND is not empty");
      sawEnd = true;
    } else if (isUpper(type[0])) {
      return unsupported("unknown critical chunk '" + type + "'");
    }
    // Any chunk after the first IDAT ends the IDAT run.
    if (type != "IDAT" && !idat.empty())
      idatDone = true;
  }
  if (pos != data.size())
    return bad(formatv("{0} bytes after IEND", data.size() - pos));
  if (idat.empty())
    return bad("no IDAT chunk");
  if (idat.size() > std::numeric_limits<uInt>::max())
    return unsupported("more than 4 GiB of image data");

  // Every scanline is a filter byte and width * channels samples.
  size_t stride = size_t(width) * channels;
  size_t expected = size_t(height) * (stride + 1);
  // Deflate expands at most ~1032:1; a header that implies far more than
  // the compressed data can give is rejected before allocating.
  if (expected / 1032 > idat.size() + 64)
    return bad(formatv("{0} bytes of compressed image data cannot inflate "
                       "to the {1} bytes a {2}x{3} image needs (truncated?)",
                       idat.size(), expected, width, height));
  std::vector<uint8_t> raw(expected);
  std::string error = inflateExact(idat, raw);
  if (!error.empty())
    return bad(error);

  // Unfilter in place; bpp is `channels` at 8 bits.
  for (size_t y = 0; y < height; ++y) {
    uint8_t *row = raw.data() + y * (stride + 1);
    uint8_t filter = row[0];
    uint8_t *cur = row + 1;
    const uint8_t *prev = y ? row - stride : nullptr; // previous row's data
    switch (filter) {
    case 0:
      break;
    case 1:
      for (size_t i = channels; i < stride; ++i)
        cur[i] = uint8_t(cur[i] + cur[i - channels]);
      break;
    case 2:
      if (prev)
        for (size_t i = 0; i < stride; ++i)
          cur[i] = uint8_t(cur[i] + prev[i]);
      break;
    case 3:
      for (size_t i = 0; i < stride; ++i) {
        int a = i >= channels ? cur[i - channels] : 0, b = prev ? prev[i] : 0;
        cur[i] = uint8_t(cur[i] + (a + b) / 2);
      }
      break;
    case 4:
      for (size_t i = 0; i < stride; ++i) {
        int a = i >= channels ? cur[i - channels] : 0, b = prev ? prev[i] : 0,
            c = prev && i >= channels ? prev[i - channels] : 0;
        cur[i] = uint8_t(cur[i] + paeth(a, b, c));
      }
      break;
    default:
      return bad(formatv("invalid filter type {0} on row {1}", filter, y));
    }
  }

  RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.resize(size_t(width) * height * 3);
  for (size_t y = 0; y < height; ++y) {
    const uint8_t *src = raw.data() + y * (stride + 1) + 1;
    uint8_t *dst = image.pixels.data() + y * size_t(width) * 3;
    for (size_t x = 0; x < width; ++x, dst += 3) {
      const uint8_t *s = src + x * channels;
      switch (colorType) {
      case 0:
      case 4:
        dst[0] = dst[1] = dst[2] = s[0];
        break;
      case 2:
      case 6:
        dst[0] = s[0], dst[1] = s[1], dst[2] = s[2];
        break;
      case 3:
        if (s[0] >= paletteSize)
          return bad(formatv("palette index {0} at ({1}, {2}) is past the "
                             "{3}-entry PLTE",
                             s[0], x, y, paletteSize));
        std::memcpy(dst, palette[s[0]], 3);
        break;
      }
    }
  }
  return image;
}

Expected<RgbImage> readPng(StringRef path) {
  auto buffer = readInputFile(path, kImageInput);
  if (!buffer)
    return buffer.takeError();
  return decodePng((*buffer)->getBuffer(), path);
}

Expected<Tensor> preprocessImage(const RgbImage &image, int64_t resolution,
                                 int64_t batch) {
  if (resolution < 1 || batch < 1)
    return createStringError(
        formatv("preprocessImage: resolution {0} and batch {1} must be "
                "positive",
                resolution, batch)
            .str());
  if (image.width < 1 || image.height < 1 ||
      image.pixels.size() != size_t(image.width * image.height * 3))
    return createStringError("preprocessImage: malformed image");
  auto t = Tensor::empty(DType::F32, {batch, 3, resolution, resolution});
  if (!t)
    return t.takeError();

  // Per output coordinate: the two source indices and the weight of the
  // second, as in PyTorch's upsample_bilinear2d with align_corners=false.
  struct Tap {
    int64_t i0, i1;
    double w1;
  };
  auto taps = [&](int64_t in) {
    std::vector<Tap> result(resolution);
    double scale = double(in) / double(resolution);
    for (int64_t o = 0; o < resolution; ++o) {
      double src = std::max(0.0, (double(o) + 0.5) * scale - 0.5);
      int64_t i0 = std::min<int64_t>(int64_t(src), in - 1);
      int64_t i1 = std::min<int64_t>(i0 + 1, in - 1);
      result[o] = {i0, i1, src - double(i0)};
    }
    return result;
  };
  std::vector<Tap> ys = taps(image.height), xs = taps(image.width);

  float *out = t->data<float>();
  int64_t plane = resolution * resolution;
  const uint8_t *px = image.pixels.data();
  for (int64_t c = 0; c < 3; ++c) {
    float *dst = out + c * plane;
    for (int64_t oy = 0; oy < resolution; ++oy) {
      const Tap &ty = ys[oy];
      const uint8_t *r0 = px + ty.i0 * image.width * 3 + c;
      const uint8_t *r1 = px + ty.i1 * image.width * 3 + c;
      for (int64_t ox = 0; ox < resolution; ++ox) {
        const Tap &tx = xs[ox];
        double top = r0[tx.i0 * 3] * (1 - tx.w1) + r0[tx.i1 * 3] * tx.w1;
        double bottom = r1[tx.i0 * 3] * (1 - tx.w1) + r1[tx.i1 * 3] * tx.w1;
        double v = (top * (1 - ty.w1) + bottom * ty.w1) / 255.0;
        dst[oy * resolution + ox] =
            float((v - kImageNetMean[c]) / kImageNetStd[c]);
      }
    }
  }
  for (int64_t b = 1; b < batch; ++b)
    std::memcpy(out + b * 3 * plane, out, size_t(3 * plane) * sizeof(float));
  return t;
}

} // namespace clusopt::runtime

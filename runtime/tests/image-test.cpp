//===- image-test.cpp - Decode and preprocess one image -------------------===//
//
//   clusopt-runtime-image-test IN SIZE BATCH OUT.npy [CROP_PCT [bilinear]]
//
// Decodes IN (PNG or JPEG) with the runtime (under ASan/UBSan) and writes a
// .npy of: for SIZE N or HxW, the preprocessed f32 [BATCH, 3, H, W] (crop
// fraction CROP_PCT, default 0.875; bicubic unless "bilinear"); for SIZE 0,
// the decoded pixels, u8 [H, W, 3]; for SIZE rHxW, the decoded image
// resized to HxW (resizeImage), u8 [H, W, 3]. On an error prints it and
// exits 1. python/tests/test_images.py drives it.
//
//===----------------------------------------------------------------------===//

#include "runtime/Image.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

using namespace clusopt::runtime;
using namespace llvm;

// "N" or "HxW".
static bool parseSize(StringRef text, int64_t &height, int64_t &width) {
  auto [h, w] = text.split('x');
  if (w.empty())
    w = h;
  return !h.getAsInteger(10, height) && !w.getAsInteger(10, width);
}

int main(int argc, char **argv) {
  int64_t batch = 0;
  PreprocessOptions options;
  StringRef size = argc > 2 ? argv[2] : "";
  bool resizeOnly = size.consume_front("r");
  if (argc < 5 || argc > 7 || !parseSize(size, options.height, options.width) ||
      (resizeOnly && (options.height < 1 || options.width < 1)) ||
      StringRef(argv[3]).getAsInteger(10, batch) ||
      (argc > 5 && StringRef(argv[5]).getAsDouble(options.cropPct))) {
    errs() << "usage: clusopt-runtime-image-test IN SIZE BATCH OUT.npy "
              "[CROP_PCT [bilinear]]\n";
    return 2;
  }
  if (argc > 6 && StringRef(argv[6]) == "bilinear")
    options.interpolation = Interpolation::Bilinear;
  Expected<RgbImage> image = readImage(argv[1]);
  if (!image) {
    errs() << "error: " << toString(image.takeError()) << "\n";
    return 1;
  }
  const char *descr = "<f4";
  std::vector<int64_t> shape = {image->height, image->width, 3};
  StringRef bytes(reinterpret_cast<const char *>(image->pixels.data()),
                  image->pixels.size());
  std::optional<Tensor> t;
  if (resizeOnly) {
    *image = resizeImage(*image, options.height, options.width,
                         options.interpolation);
    shape = {image->height, image->width, 3};
    bytes = StringRef(reinterpret_cast<const char *>(image->pixels.data()),
                      image->pixels.size());
    descr = "|u1";
  } else if (options.height != 0) {
    Expected<Tensor> pre = preprocessImage(*image, options, batch);
    if (!pre) {
      errs() << "error: " << toString(pre.takeError()) << "\n";
      return 1;
    }
    t = std::move(*pre);
    shape = t->shape();
    bytes = StringRef(static_cast<const char *>(t->raw()), t->numBytes());
  } else {
    descr = "|u1";
  }
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, " + "'shape': (";
  for (int64_t d : shape)
    header += std::to_string(d) + ", ";
  header += "), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::error_code ec;
  raw_fd_ostream os(argv[4], ec, sys::fs::OF_None);
  if (ec) {
    errs() << "error: " << argv[4] << ": " << ec.message() << "\n";
    return 1;
  }
  os << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff)
     << char(header.size() >> 8) << header;
  os.write(bytes.data(), bytes.size());
  outs() << "decoded " << image->width << "x" << image->height << "\n";
  return 0;
}

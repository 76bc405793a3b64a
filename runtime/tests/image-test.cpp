//===- image-test.cpp - Decode and preprocess one image -------------------===//
//
//   clusopt-runtime-image-test IN RESOLUTION BATCH OUT.npy
//
// Decodes IN (PNG or JPEG) with the runtime (under ASan/UBSan), preprocesses
// it to f32 [BATCH, 3, RESOLUTION, RESOLUTION] and writes that as a .npy
// (RESOLUTION 0: the decoded pixels, u8 [H, W, 3]); on an error prints it
// and exits 1. python/tests/test_images.py drives it.
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

int main(int argc, char **argv) {
  int64_t resolution = 0, batch = 0;
  if (argc != 5 || StringRef(argv[2]).getAsInteger(10, resolution) ||
      StringRef(argv[3]).getAsInteger(10, batch)) {
    errs() << "usage: clusopt-runtime-image-test IN RESOLUTION BATCH "
              "OUT.npy\n";
    return 2;
  }
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
  if (resolution != 0) {
    Expected<Tensor> pre = preprocessImage(*image, resolution, batch);
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

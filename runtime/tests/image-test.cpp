//===- image-test.cpp - Decode and preprocess one PNG ---------------------===//
//
//   clusopt-runtime-image-test IN.png RESOLUTION BATCH OUT.npy
//
// Decodes IN.png with the runtime's decoder (under ASan/UBSan), preprocesses
// it to f32 [BATCH, 3, RESOLUTION, RESOLUTION] and writes that as a .npy;
// on an error prints it and exits 1. python/tests/test_png.py drives it.
//
//===----------------------------------------------------------------------===//

#include "runtime/Image.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace clusopt::runtime;
using namespace llvm;

int main(int argc, char **argv) {
  int64_t resolution = 0, batch = 0;
  if (argc != 5 || StringRef(argv[2]).getAsInteger(10, resolution) ||
      StringRef(argv[3]).getAsInteger(10, batch)) {
    errs() << "usage: clusopt-runtime-image-test IN.png RESOLUTION BATCH "
              "OUT.npy\n";
    return 2;
  }
  Expected<RgbImage> image = readPng(argv[1]);
  if (!image) {
    errs() << "error: " << toString(image.takeError()) << "\n";
    return 1;
  }
  Expected<Tensor> t = preprocessImage(*image, resolution, batch);
  if (!t) {
    errs() << "error: " << toString(t.takeError()) << "\n";
    return 1;
  }
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int64_t d : t->shape())
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
  os.write(static_cast<const char *>(t->raw()), t->numBytes());
  outs() << "decoded " << image->width << "x" << image->height << "\n";
  return 0;
}

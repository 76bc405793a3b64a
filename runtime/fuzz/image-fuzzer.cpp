//===- image-fuzzer.cpp - libFuzzer target for the image decoders ---------===//
//
// Any input (PNG or JPEG, picked by the signature as clusopt-run does)
// must either fail with an error or decode to an image whose
// pixel buffer matches its size; accepted images are also preprocessed
// (resized and cropped to 8 x 8 and normalised), and every output must be
// finite.
//
//===----------------------------------------------------------------------===//

#include "runtime/Image.h"

#include <cmath>

using namespace clusopt::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // No copy: libFuzzer's buffer is exactly `size` bytes, so any read past
  // the end is an ASan report.
  llvm::Expected<RgbImage> image =
      decodeImage(llvm::StringRef(reinterpret_cast<const char *>(data), size),
                  "fuzz-input");
  if (!image) {
    llvm::consumeError(image.takeError());
    return 0;
  }
  if (image->width < 1 || image->height < 1 ||
      image->pixels.size() != size_t(image->width * image->height * 3))
    __builtin_trap();
  llvm::Expected<Tensor> t = preprocessImage(*image, {8, 8});
  if (!t)
    __builtin_trap();
  for (int64_t i = 0; i < t->numElements(); ++i)
    if (!std::isfinite(t->data<float>()[i]))
      __builtin_trap();
  return 0;
}

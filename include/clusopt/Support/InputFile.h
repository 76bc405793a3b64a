//===- InputFile.h - Reading the files users name ---------------*- C++ -*-===//
//
// Every file a user names on a command line (weights, images, MLIR) is read
// through here. Special files are refused before a byte is read: a FIFO
// would block forever and a device such as /dev/zero would be read until
// memory runs out. Regular files are capped in size, the limit depending on
// the kind of input, so that a wrong path fails at once with a clear
// message instead of after minutes of reading.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_LIB_SUPPORT_INPUTFILE_H
#define CLUSOPT_LIB_SUPPORT_INPUTFILE_H

#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>

namespace clusopt {

/// A kind of input file and the largest size accepted for it.
struct InputKind {
  /// How errors name the inputs: "weights", "images", "MLIR inputs".
  const char *name;
  uint64_t maxBytes;
};

/// Safetensors weights: 64 GiB, far above any model the runtime runs
/// (paca_base is about 0.2 GB in f32).
inline constexpr InputKind kWeightsInput{"weights", 64ull << 30};
/// PNG, .npy and raw images: 1 GiB (a .npy of 256 float32 images at
/// 448x448 is 0.6 GB; the PNG decoder takes at most 2^26 pixels).
inline constexpr InputKind kImageInput{"images", 1ull << 30};
/// MLIR source: 1 GiB.
inline constexpr InputKind kMlirInput{"MLIR inputs", 1ull << 30};

/// "64 GiB", "1 MiB", or the number of bytes when it is not a whole
/// number of MiB.
std::string formatByteLimit(uint64_t bytes);

/// Checks, without reading it, that `path` is a regular file of at most
/// `kind.maxBytes` bytes ("-", standard input, is accepted when
/// `allowStdin`). Errors start with the path, e.g. "/dev/zero: is a
/// character device, not a regular file (images are read from regular
/// files of at most 1 GiB)".
llvm::Error checkInputFile(llvm::StringRef path, const InputKind &kind,
                           bool allowStdin = false);

/// Reads `path` after the checks of checkInputFile, on the opened file (no
/// race with a file replaced in between). With `allowStdin`, "-" reads
/// standard input, up to the same limit.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readInputFile(llvm::StringRef path, const InputKind &kind,
              bool requiresNullTerminator = false, bool allowStdin = false);

} // namespace clusopt

#endif // CLUSOPT_LIB_SUPPORT_INPUTFILE_H

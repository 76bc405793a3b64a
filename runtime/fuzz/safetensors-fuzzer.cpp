//===- safetensors-fuzzer.cpp - libFuzzer target for the reader -----------===//
//
// Any input must either fail with an error or give entries whose byte ranges
// lie inside the input: every accepted tensor is read byte by byte, loaded
// and checked against a config, so ASan sees any range the checks missed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"

#include <cstring>

using namespace clusopt::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // No copy: libFuzzer's buffer is exactly `size` bytes, so any read past
  // the end is an ASan report.
  llvm::Expected<SafetensorsFile> file =
      SafetensorsFile::parse(llvm::MemoryBuffer::getMemBuffer(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          "fuzz-input", /*RequiresNullTerminator=*/false));
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  unsigned checksum = 0;
  for (const SafetensorsEntry &e : file->tensors()) {
    for (uint8_t byte : file->bytes(e))
      checksum += byte;
    llvm::consumeError(file->expect(e.name, DType::F32, e.shape));
    llvm::Expected<Tensor> t = file->load(e.name);
    if (!t) {
      llvm::consumeError(t.takeError());
      continue;
    }
    if (t->numBytes() != e.end - e.begin ||
        std::memcmp(t->raw(), file->bytes(e).data(), t->numBytes()) != 0)
      __builtin_trap();
  }
  for (const auto &kv : file->metadata())
    checksum += kv.first.size() + kv.second.size();
  // Keep the reads from being optimised away.
  asm volatile("" : : "r"(checksum));
  return 0;
}

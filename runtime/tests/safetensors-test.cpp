//===- safetensors-test.cpp - The hardened safetensors reader -------------===//
//
// Round-trips a file through the writer and reader, then feeds the reader
// broken files and prints each error, which lit checks word for word.
// Usage: clusopt-runtime-safetensors-test SCRATCH_DIR
//
//===----------------------------------------------------------------------===//

#include "Check.h"
#include "runtime/Safetensors.h"

#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

using namespace clusopt::runtime;

static std::string dir;

static std::string pathOf(llvm::StringRef name) {
  return dir + "/" + name.str() + ".safetensors";
}

/// A file with `header` and `dataBytes` bytes of data; `length` overrides
/// the header length field.
static std::string rawFile(llvm::StringRef name, llvm::StringRef header,
                           size_t dataBytes,
                           std::optional<uint64_t> length = std::nullopt) {
  std::string path = pathOf(name);
  std::ofstream os(path, std::ios::binary);
  char prefix[8];
  llvm::support::endian::write64le(prefix, length.value_or(header.size()));
  os.write(prefix, 8);
  os.write(header.data(), header.size());
  std::string data(dataBytes, '\x01');
  os.write(data.data(), data.size());
  return path;
}

/// Prints the error that opening `path` must give.
static void expectOpenError(llvm::StringRef label, const std::string &path) {
  std::string message =
      errorOf(SafetensorsFile::open(path), label.str().c_str());
  // The directory differs between runs; the file name does not.
  size_t at = message.find(dir);
  if (at != std::string::npos)
    message.erase(at, dir.size() + 1);
  llvm::outs() << label << ": " << message << "\n";
}

static void roundTrip() {
  Tensor w = checkOk(Tensor::empty(DType::F32, {2, 3}), "w");
  for (int i = 0; i < 6; ++i)
    w.data<float>()[i] = 0.5f * i;
  Tensor ids = checkOk(Tensor::empty(DType::I32, {4}), "ids");
  for (int i = 0; i < 4; ++i)
    ids.data<int32_t>()[i] = -i;
  Tensor h = checkOk(w.to(DType::BF16), "h");
  Tensor none = checkOk(Tensor::empty(DType::F16, {0, 5}), "none");
  std::string path = pathOf("good");
  checkOk(writeSafetensors(path,
                           {{"w", w}, {"ids", ids}, {"h", h}, {"none", none}},
                           {{"format", "pt"}}),
          "write");

  SafetensorsFile file = checkOk(SafetensorsFile::open(path), "open good");
  CHECK(file.tensors().size() == 4);
  CHECK(file.metadata().at("format") == "pt");
  Tensor w2 = checkOk(file.load("w", DType::F32, {2, 3}), "load w");
  CHECK(std::memcmp(w2.raw(), w.raw(), w.numBytes()) == 0);
  CHECK(reinterpret_cast<uintptr_t>(w2.raw()) % Tensor::kAlignment == 0);
  Tensor ids2 = checkOk(file.load("ids", DType::I32, {4}), "load ids");
  CHECK(ids2.data<int32_t>()[3] == -3);
  Tensor h2 = checkOk(file.load("h", DType::BF16, {2, 3}), "load h");
  CHECK(h2.getFloat(5) == 2.5f);
  CHECK(checkOk(file.load("none"), "load none").numElements() == 0);
  for (const SafetensorsEntry &e : file.tensors())
    llvm::outs() << "good: " << e.name << " " << e.dtype << " "
                 << shapeString(e.shape) << " [" << e.begin << ", " << e.end
                 << ")\n";

  // What a model config check reports.
  auto show = [](const char *label, llvm::Error err) {
    llvm::outs() << label << ": " << errorOf(std::move(err), label) << "\n";
  };
  show("expect-shape", file.expect("w", DType::F32, {2, 4}));
  show("expect-rank", file.expect("w", DType::F32, {6}));
  show("expect-dtype", file.expect("h", DType::F16, {2, 3}));
  show("expect-missing",
       file.expect("stage1.0.attn.q.weight", DType::F32, {96, 96}));
  llvm::outs() << "load-mismatch: "
               << errorOf(file.load("ids", DType::I32, {5}), "load") << "\n";
}

/// The writer replaces a symlink planted at its path instead of writing
/// through it, and a failed write keeps the previous file.
static void writerReplacesSymlinks() {
  std::string victim = dir + "/victim", link = pathOf("link");
  std::ofstream(victim) << "victim";
  CHECK(::symlink("victim", link.c_str()) == 0);
  Tensor w = checkOk(Tensor::empty(DType::F32, {3}), "w");
  checkOk(writeSafetensors(link, {{"w", w}}, {}), "write over a symlink");
  std::string text;
  std::ifstream(victim) >> text;
  CHECK(text == "victim");
  llvm::sys::fs::file_status status;
  CHECK(!llvm::sys::fs::status(link, status, /*Follow=*/false));
  CHECK(status.type() == llvm::sys::fs::file_type::regular_file);
  CHECK(checkOk(SafetensorsFile::open(link), "open").tensors().size() == 1);
  llvm::Error err = writeSafetensors(link, {{"a", w}, {"a", w}}, {});
  CHECK(static_cast<bool>(err));
  llvm::consumeError(std::move(err));
  CHECK(checkOk(SafetensorsFile::open(link), "reopen").tensors().size() == 1);
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec))
    CHECK(it->path().find(".tmp-") == std::string::npos);
  llvm::outs() << "symlink: replaced, its target kept\n";
}

static void brokenFiles() {
  const char *ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  {
    std::string path = pathOf("short");
    std::ofstream(path, std::ios::binary).write("\x10\0\0", 3);
    expectOpenError("short", path);
  }
  expectOpenError("missing", pathOf("no-such-file"));
  std::string good = rawFile("truncated", ok, 8);
  CHECK(::truncate(good.c_str(), 8 + std::strlen(ok) + 5) == 0);
  expectOpenError("truncated-data", good);
  good = rawFile("truncated-header", ok, 0);
  CHECK(::truncate(good.c_str(), 20) == 0);
  expectOpenError("truncated-header", good);
  expectOpenError("huge-header", rawFile("huge", ok, 8, 100'000'001));
  expectOpenError("length-max", rawFile("max", ok, 8, ~0ull));
  expectOpenError("bad-json", rawFile("json", R"({"a":{"dtype":"F32",)", 8));
  expectOpenError("deep-json", rawFile("deep", std::string(1 << 20, '['), 0));
  std::string many = "{";
  for (int i = 0; i < 100'000; ++i)
    many += "\"" + std::to_string(i) + "\":{},";
  many.back() = '}';
  expectOpenError("many-objects", rawFile("many", many, 0));
  expectOpenError("not-utf8", rawFile("utf8", "{\"\xff\":1}", 0));
  expectOpenError("not-object", rawFile("array", "[1,2]", 0));
  expectOpenError("entry-not-object", rawFile("entry", R"({"a":7})", 0));
  expectOpenError(
      "unknown-dtype",
      rawFile("dtype",
              R"({"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})",
              16));
  expectOpenError(
      "negative-dim",
      rawFile("negative",
              R"({"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}})",
              0));
  expectOpenError(
      "fractional-dim",
      rawFile("fraction",
              R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,6]}})",
              8));
  expectOpenError(
      "overflow-shape",
      rawFile("overflow",
              R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],)"
              R"("data_offsets":[0,0]}})",
              0));
  expectOpenError(
      "overflow-bytes",
      rawFile("overflow-bytes",
              R"({"a":{"dtype":"F64","shape":[2305843009213693952],)"
              R"("data_offsets":[0,0]}})",
              0));
  expectOpenError(
      "huge-dim",
      rawFile("huge-dim",
              R"({"a":{"dtype":"U8","shape":[1e300],"data_offsets":[0,0]}})",
              0));
  expectOpenError(
      "offsets-out-of-range",
      rawFile("range",
              R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
  expectOpenError(
      "offsets-reversed",
      rawFile("reversed",
              R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8));
  expectOpenError(
      "offsets-size",
      rawFile("size",
              R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
  expectOpenError(
      "offsets-shape",
      rawFile("offsets",
              R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 8));
  expectOpenError(
      "overlap",
      rawFile("overlap",
              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
              12));
  expectOpenError(
      "extra-key",
      rawFile("extra",
              R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],)"
              R"("offset":0}})",
              4));
  expectOpenError("bad-metadata",
                  rawFile("metadata", R"({"__metadata__":{"epoch":3}})", 0));
  expectOpenError(
      "duplicate-name",
      rawFile("duplicate",
              R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
              R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
              8));

  // A valid file whose dtype the runtime cannot load into a Tensor.
  SafetensorsFile f64 = checkOk(
      SafetensorsFile::open(rawFile(
          "f64", R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})",
          8)),
      "open f64");
  llvm::outs() << "load-f64: " << errorOf(f64.load("a"), "load f64") << "\n";
  // Empty tensors may share an offset with others; gaps are allowed.
  checkOk(SafetensorsFile::open(rawFile(
              "empty-shared",
              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
              R"("c":{"dtype":"U8","shape":[2],"data_offsets":[10,12]}})",
              12)),
          "open empty-shared");
}

/// NaN and infinite weights, the DDP `module.` hint, and files that are not
/// regular files (read through clusopt::readInputFile).
static void checkedInputs() {
  Tensor w = checkOk(Tensor::empty(DType::F32, {3, 5000}), "w");
  for (int64_t i = 0; i < w.numElements(); ++i)
    w.data<float>()[i] = 1.0f;
  // Past the first 4096-float chunk, so the chunked check sees it.
  w.data<float>()[4100] = -std::numeric_limits<float>::infinity();
  w.data<float>()[9000] = std::numeric_limits<float>::quiet_NaN();
  Tensor ok = checkOk(Tensor::empty(DType::F32, {2}), "ok");
  ok.data<float>()[0] = 3.4e38f, ok.data<float>()[1] = -0.0f;
  std::string path = pathOf("non-finite");
  checkOk(writeSafetensors(path, {{"module.head.weight", ok}, {"w", w}}),
          "write non-finite");
  SafetensorsFile file = checkOk(SafetensorsFile::open(path), "open");
  llvm::outs() << "non-finite: "
               << errorOf(file.load("w", DType::F32, {3, 5000},
                                    /*requireFinite=*/true),
                          "load w")
               << "\n";
  // Without the check (clusopt-safetensors prints such files).
  CHECK(std::isnan(checkOk(file.load("w", DType::F32, {3, 5000}), "load w")
                       .data<float>()[9000]));
  Tensor big = checkOk(file.load("module.head.weight", DType::F32, {2},
                                 /*requireFinite=*/true),
                       "load finite");
  CHECK(big.data<float>()[0] == 3.4e38f);
  llvm::outs() << "ddp-prefix: "
               << errorOf(file.load("head.weight", DType::F32, {2}), "load")
               << "\n";

  expectOpenError("dev-zero", "/dev/zero");
  std::string fifo = dir + "/fifo";
  ::unlink(fifo.c_str());
  CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  expectOpenError("fifo", fifo);
  expectOpenError("directory", dir);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    llvm::errs() << "usage: clusopt-runtime-safetensors-test SCRATCH_DIR\n";
    return 2;
  }
  dir = argv[1];
  llvm::sys::fs::create_directories(dir);
  roundTrip();
  writerReplacesSymlinks();
  brokenFiles();
  checkedInputs();
  llvm::outs() << "safetensors-test: OK\n";
  return 0;
}

//===- clusopt-safetensors.cpp - Inspect and check a safetensors file -----===//
//
// Prints what the runtime's hardened reader makes of a file: each tensor's
// dtype, shape, byte range and the sum of its values, so that other tools
// (python/tests) can check files they wrote. `--expect` checks tensors as a
// model config would.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Support/CommandLine.h"
#include "runtime/Safetensors.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace clusopt::runtime;
using namespace llvm;

static cl::OptionCategory category("clusopt-safetensors options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<file>"),
                                      cl::Required, cl::cat(category));
static cl::list<std::string>
    expectations("expect",
                 cl::desc("NAME:DTYPE:D0,D1,... a tensor must exist with this "
                          "dtype (f32, f16, bf16, i32) and shape"),
                 cl::cat(category));

static int fail(const Twine &message) {
  errs() << "clusopt-safetensors: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  if (!clusopt::parseCommandLine(argc, argv, "Check a safetensors file\n",
                                 category))
    return 1;
  Expected<SafetensorsFile> file = SafetensorsFile::open(inputFile);
  if (!file)
    return fail(toString(file.takeError()));

  for (StringRef spec : expectations) {
    auto [rest, dims] = spec.rsplit(':');
    auto [name, dtypeText] = rest.rsplit(':');
    std::optional<DType> dtype = parseDType(dtypeText);
    SmallVector<int64_t> shape;
    SmallVector<StringRef> parts;
    dims.split(parts, ',', -1, /*KeepEmpty=*/false);
    bool ok = dtype.has_value();
    for (StringRef p : parts) {
      int64_t &dim = shape.emplace_back();
      ok &= !p.getAsInteger(10, dim) && dim >= 0;
    }
    if (!ok)
      return fail("bad --expect '" + spec +
                  "' (NAME:DTYPE:D0,D1,... with dims non-negative integers)");
    if (Error err = file->expect(name, *dtype, shape))
      return fail(toString(std::move(err)));
  }

  for (const auto &[key, value] : file->metadata())
    outs() << "metadata " << key << " = " << value << "\n";
  for (const SafetensorsEntry &e : file->tensors()) {
    outs() << "tensor " << e.name << " " << e.dtype << " "
           << shapeString(e.shape) << " bytes [" << e.begin << ", " << e.end
           << ")";
    Expected<Tensor> t = file->load(e.name);
    if (t) {
      double sum = 0;
      for (int64_t i = 0; i < t->numElements(); ++i)
        sum += t->getFloat(i);
      outs() << " sum " << format("%.6g", sum);
    } else {
      consumeError(t.takeError());
    }
    outs() << "\n";
  }
  return 0;
}

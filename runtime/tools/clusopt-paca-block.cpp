//===- clusopt-paca-block.cpp - One PaCa-ViT block on the runtime ---------===//
//
// Runs one PaCa-ViT block (a block after the first of a stage with
// clusters, docs/models.md) on the hand-written runtime: the same layers
// and generated kernels, in the same order, as PacaVit's blocks. It exists
// so that bench/paca_block.py can time the runtime's block against the
// block compiled from docs/examples/paca_block.mlir, and
// python/tests/test_paca_block.py can check it against the NumPy reference.
//
// The weights file holds the block's tensors under their state_dict names
// without the "stage{i}.{j}." prefix, plus the inputs `x` [B, H·W, C] and
// `logits` [B, M, H·W]. With --serve, after one run it reads commands from
// stdin: "run K" runs the block K times and prints "times" and the K wall
// times in seconds on one line; "quit" (or the end of input) stops.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Support/CommandLine.h"
#include "runtime/KernelLibrary.h"
#include "runtime/ThreadPool.h"
#include "runtime/models/Model.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <iostream>
#include <string>

using namespace clusopt::runtime;
using namespace llvm;

static cl::OptionCategory category("clusopt-paca-block options");
static cl::opt<std::string>
    weightsPath("weights",
                cl::desc("safetensors file: the block's weights, "
                         "`x` [B, H*W, C] and `logits` [B, M, H*W]"),
                cl::Required, cl::cat(category));
static cl::opt<int64_t> headsOpt("heads", cl::desc("attention heads"),
                                 cl::Required, cl::cat(category));
static cl::opt<int64_t> heightOpt("height", cl::desc("token grid height"),
                                  cl::Required, cl::cat(category));
static cl::opt<int64_t> widthOpt("width", cl::desc("token grid width"),
                                 cl::Required, cl::cat(category));
static cl::opt<int> threadsOpt("num-threads",
                               cl::desc("threads (0: OMP_NUM_THREADS or every "
                                        "core)"),
                               cl::init(0), cl::cat(category));
static cl::opt<std::string>
    kernelsPath("kernels",
                cl::desc("PaCa kernel library (default: the build's)"),
                cl::init(CLUSOPT_PACA_KERNELS_PATH), cl::cat(category));
static cl::opt<std::string>
    outputPath("output", cl::desc("write the block's output as `out` here"),
               cl::cat(category));
static cl::opt<bool> serve("serve",
                           cl::desc("then time runs on request (\"run K\" on "
                                    "stdin)"),
                           cl::cat(category));

namespace {
/// The block's layers, loaded and checked as PacaVit loads a block's.
struct Block {
  Tensor norm1Weight, norm1Bias, clusterNormWeight, clusterNormBias;
  Tensor norm2Weight, norm2Bias;
  Linear q, k, v, proj, fc1, fc2;
  Conv2d dwconv;
};
} // namespace

static Expected<Block> loadBlock(const SafetensorsFile &file, int64_t c) {
  WeightShapes shapes;
  shapes.norm("norm1_before", c);
  shapes.norm("attn.cluster_norm", c);
  for (const char *proj : {"q", "k", "v", "proj"})
    shapes.linear(std::string("attn.") + proj, c, c);
  shapes.norm("norm2_before", c);
  shapes.convMlp("mlp.", c, 4 * c);
  WeightLoader load(file, shapes);
  Block b;
  RETURN_IF_ERROR(load.norm("norm1_before", b.norm1Weight, b.norm1Bias));
  RETURN_IF_ERROR(
      load.norm("attn.cluster_norm", b.clusterNormWeight, b.clusterNormBias));
  ASSIGN_OR_RETURN(b.q, load.linear("attn.q"));
  ASSIGN_OR_RETURN(b.k, load.linear("attn.k"));
  ASSIGN_OR_RETURN(b.v, load.linear("attn.v"));
  ASSIGN_OR_RETURN(b.proj, load.linear("attn.proj"));
  RETURN_IF_ERROR(load.norm("norm2_before", b.norm2Weight, b.norm2Bias));
  ASSIGN_OR_RETURN(b.fc1, load.linear("mlp.fc1"));
  ASSIGN_OR_RETURN(b.dwconv, load.conv("mlp.dwconv.dwconv", 1, 1, 4 * c));
  ASSIGN_OR_RETURN(b.fc2, load.linear("mlp.fc2"));
  return b;
}

/// PacaVit::block for a block after the first of a stage with clusters.
static Expected<Tensor> runBlock(const Block &b, const KernelLibrary &kernels,
                                 const Tensor &x, const Tensor &logits,
                                 int64_t heads, int64_t h, int64_t w) {
  const float eps = 1e-6f;
  Tensor a, ctok, q, k, v, o;
  ASSIGN_OR_RETURN(a, layerNorm(x, b.norm1Weight, b.norm1Bias, eps));
  std::vector<Tensor> pooled;
  ASSIGN_OR_RETURN(
      pooled,
      kernels.call(
          pickEntry(
              kernels,
              formatv("assign_pool_m{0}_c{1}", logits.dim(1), a.dim(2)).str(),
              "assign_pool"),
          {logits, a}));
  ASSIGN_OR_RETURN(
      ctok, layerNorm(pooled[0], b.clusterNormWeight, b.clusterNormBias, eps));
  ASSIGN_OR_RETURN(q, b.q.toHeads(a, heads));
  ASSIGN_OR_RETURN(k, b.k.toHeads(ctok, heads));
  ASSIGN_OR_RETURN(v, b.v.toHeads(ctok, heads));
  ASSIGN_OR_RETURN(o, callAttention(kernels, q, k, v));
  return projectAndConvMlp(
      x, o, {b.proj, b.norm2Weight, b.norm2Bias, b.fc1, b.dwconv, b.fc2}, eps,
      h, w, /*profile=*/nullptr, "", "");
}

static int fail(const Twine &message) {
  errs() << "clusopt-paca-block: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  if (!clusopt::parseCommandLine(
          argc, argv, "Run one PaCa-ViT block on the runtime\n", category))
    return 1;
  if (threadsOpt < 0)
    return fail("--num-threads must be >= 0");
  if (threadsOpt > 0)
    ThreadPool::setNumThreads(threadsOpt);
  Expected<SafetensorsFile> file = SafetensorsFile::open(weightsPath);
  if (!file)
    return fail(toString(file.takeError()));
  Expected<std::unique_ptr<KernelLibrary>> kernels =
      KernelLibrary::open(kernelsPath);
  if (!kernels)
    return fail(toString(kernels.takeError()));
  Expected<Tensor> x = file->load("x");
  Expected<Tensor> logits = file->load("logits");
  if (!x)
    return fail(toString(x.takeError()));
  if (!logits)
    return fail(toString(logits.takeError()));
  int64_t h = heightOpt, w = widthOpt, heads = headsOpt;
  if (x->dtype() != DType::F32 || x->rank() != 3 || h < 1 || w < 1 ||
      x->dim(1) != h * w || heads < 1 || x->dim(2) % heads)
    return fail(formatv("x must be f32 [B, height*width = {0}, C] with C a "
                        "multiple of --heads {1}, got {2}",
                        h * w, heads, shapeString(x->shape())));
  if (logits->dtype() != DType::F32 || logits->rank() != 3 ||
      logits->dim(0) != x->dim(0) || logits->dim(2) != h * w)
    return fail(formatv("logits must be f32 [B = {0}, M, {1}], got {2}",
                        x->dim(0), h * w, shapeString(logits->shape())));
  Expected<Block> block = loadBlock(*file, x->dim(2));
  if (!block)
    return fail(toString(block.takeError()));

  Expected<Tensor> out = runBlock(*block, **kernels, *x, *logits, heads, h, w);
  if (!out)
    return fail(toString(out.takeError()));
  if (!outputPath.empty())
    if (Error err = writeSafetensors(outputPath, {{"out", std::move(*out)}}))
      return fail(toString(std::move(err)));
  if (!serve)
    return 0;
  outs() << "ready\n";
  outs().flush();
  for (std::string line; std::getline(std::cin, line);) {
    StringRef command = StringRef(line).trim();
    if (command == "quit")
      break;
    int64_t runs = 0;
    if (!command.consume_front("run ") ||
        command.trim().getAsInteger(10, runs) || runs < 1)
      return fail("unknown command '" + line +
                  "' (expected 'run K' or "
                  "'quit')");
    outs() << "times";
    for (int64_t i = 0; i < runs; ++i) {
      auto start = std::chrono::steady_clock::now();
      Expected<Tensor> y =
          runBlock(*block, **kernels, *x, *logits, heads, h, w);
      double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      if (!y)
        return fail(toString(y.takeError()));
      outs() << formatv(" {0:e6}", seconds);
    }
    outs() << "\n";
    outs().flush();
  }
  return 0;
}

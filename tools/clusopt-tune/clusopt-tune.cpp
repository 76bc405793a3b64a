//===- clusopt-tune.cpp - measured tile sizes for clus kernels --*- C++ -*-===//
//
// Searches, per clus op with a vector kernel, the tile sizes that
// clusopt-compile says are legal (--print-tile-space): compiles candidates
// in parallel with clusopt-compile, measures them one at a time in this
// process (dlopen, the C interface, random inputs), prunes slow ones early,
// settles the top few against the default with interleaved paired timings,
// and stores every measurement and the pick in the tuning database that
// clusopt-compile reads.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/ClusToVector.h"
#include "clusopt/Dialect/Clus/ClusDialect.h"
#include "clusopt/Dialect/Clus/LoweringConfig.h"
#include "clusopt/Support/CommandLine.h"
#include "clusopt/Support/InputFile.h"
#include "clusopt/Support/OutputFiles.h"
#include "clusopt/Tuning/CpuTarget.h"
#include "clusopt/Tuning/ToolFlags.h"
#include "clusopt/Tuning/TuningDatabase.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/SourceMgr.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <thread>

using namespace mlir;
using clusopt::TileConfig;
using clusopt::TuningDatabase;
using clusopt::TuningRecord;
namespace cl = llvm::cl;
namespace json = llvm::json;
namespace sys = llvm::sys;
using Clock = std::chrono::steady_clock;

namespace {

cl::OptionCategory category("clusopt-tune options");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input .mlir>"),
                               cl::cat(category));
cl::opt<std::string>
    targetName("target",
               cl::desc("CPU to tune for; it must run here: host, x86-64, "
                        "x86-64-v3 or x86-64-v4"),
               cl::value_desc("cpu"), cl::init("host"), cl::cat(category));
cl::opt<double> budget("budget",
                       cl::desc("Seconds for the whole module, shared "
                                "evenly by its ops (a little more when even "
                                "the minimal search needs it)"),
                       cl::value_desc("seconds"), cl::init(30),
                       cl::cat(category));
cl::opt<std::string>
    dbPath("db",
           cl::desc("Tuning database (default: $CLUSOPT_TUNING_DB, else "
                    "${XDG_CACHE_HOME:-~/.cache}/clusopt/tuning.sqlite)"),
           cl::value_desc("path"), cl::init(""), cl::cat(category));
cl::opt<unsigned> jobs("jobs",
                       cl::desc("Parallel compiles (default: hardware "
                                "threads)"),
                       cl::init(0), cl::cat(category));
cl::opt<bool> exhaustive("exhaustive",
                         cl::desc("Measure every legal tile fully, with no "
                                  "pruning and no budget (for comparing "
                                  "against the search)"),
                         cl::init(false), cl::cat(category));
cl::list<std::string> shapeFlags(
    "shape",
    cl::desc("The shape to tune a dynamic entry point at, as "
             "[@function:]argN=D0xD1x... (e.g. arg0=1x3136x96; repeat it for "
             "each argument with a dynamic dim; without @function it applies "
             "to every entry point with ops to tune). Tiles are then measured "
             "at these shapes and recorded for the dynamic op"),
    cl::value_desc("[@func:]argN=DxD..."), cl::cat(category));
cl::opt<std::string>
    reportJson("report-json",
               cl::desc("Also write the per-op results and every "
                        "measurement as JSON"),
               cl::value_desc("path"), cl::init(""), cl::cat(category));
cl::opt<bool> printKeys("print-keys",
                        cl::desc("Print each op's tuning key and its hash as "
                                 "JSON, and exit (what a record applies to)"),
                        cl::init(false), cl::cat(category));
cl::opt<bool> listRecords("list",
                          cl::desc("Print the database's records as JSON "
                                   "and exit"),
                          cl::init(false), cl::cat(category));
cl::opt<std::string> exportPath(
    "export",
    cl::desc("Write every record with its measurements as JSON ('-' is "
             "stdout) and exit"),
    cl::value_desc("path"), cl::init(""), cl::cat(category));
cl::opt<std::string>
    importPath("import",
               cl::desc("Add the records of a JSON export and exit; "
                        "records already present are skipped"),
               cl::value_desc("path"), cl::init(""), cl::cat(category));

// Search parameters. The coarse grid and one refinement round usually fit a
// kernel in well under the default budget.
constexpr double kPruneFactor = 1.5;    // drop candidates this much slower
constexpr size_t kFullCount = 6;        // survivors measured fully
constexpr size_t kPairedCount = 3;      // finalists timed against the default
constexpr double kSampleSeconds = 2e-4; // calls batched to this per sample

int fail(const llvm::Twine &message) {
  llvm::errs() << "clusopt-tune: error: " << message << "\n";
  return 1;
}

std::string tileName(const TileConfig &t) {
  return llvm::formatv("rows={0},cols={1}", t.rows, t.cols).str();
}

std::string duration(double ns) {
  if (ns >= 1e9)
    return llvm::formatv("{0:f2} s", ns / 1e9).str();
  if (ns >= 1e6)
    return llvm::formatv("{0:f3} ms", ns / 1e6).str();
  return llvm::formatv("{0:f1} us", ns / 1e3).str();
}

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double quantile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

//===----------------------------------------------------------------------===//
// Progress: a bar on a terminal, plain lines otherwise
//===----------------------------------------------------------------------===//

class Progress {
public:
  Progress() : tty(isatty(STDERR_FILENO)) {}
  /// Plain line, kept on a terminal too.
  void line(const llvm::Twine &text) {
    std::lock_guard<std::mutex> lock(mutex);
    clear();
    llvm::errs() << "clusopt-tune: " << text << "\n";
  }
  /// `done` of `total` in phase `what`; a bar on a terminal, nothing else.
  void bar(llvm::StringRef what, size_t done, size_t total) {
    if (!tty)
      return;
    std::lock_guard<std::mutex> lock(mutex);
    constexpr size_t width = 30;
    size_t fill = total ? done * width / total : width;
    std::string text =
        llvm::formatv("\r{0,-36} [{1}{2}] {3}/{4}", what.take_front(36),
                      std::string(fill, '#'), std::string(width - fill, '.'),
                      done, total)
            .str();
    llvm::errs() << text;
    llvm::errs().flush();
    shown = true;
  }
  void clear() {
    if (tty && shown)
      llvm::errs() << "\r" << std::string(80, ' ') << "\r";
    shown = false;
  }

private:
  bool tty, shown = false;
  std::mutex mutex;
};

//===----------------------------------------------------------------------===//
// Calling a compiled entry point through its C interface
//===----------------------------------------------------------------------===//

template <size_t... I>
void invokeN(void *fn, void *const *a, std::index_sequence<I...>) {
  using Fn = void (*)(decltype((void)I, static_cast<void *>(nullptr))...);
  reinterpret_cast<Fn>(fn)(a[I]...);
}

template <size_t... N>
void invokeAny(void *fn, llvm::ArrayRef<void *> a, std::index_sequence<N...>) {
  ((a.size() == N ? invokeN(fn, a.data(), std::make_index_sequence<N>())
                  : void()),
   ...);
}

struct TensorSpec {
  std::vector<int64_t> shape;
  std::string dtype;
};

/// Random inputs and result descriptors for one entry point, shaped from
/// the manifest clusopt-compile writes. Memref descriptors are
/// {allocated, aligned, offset, sizes[rank], strides[rank]}, all 8 bytes;
/// several results come back as consecutive descriptors in one struct.
class Harness {
public:
  static llvm::Expected<Harness>
  create(const json::Object &entry,
         const std::map<unsigned, std::vector<int64_t>> &argShapes);
  ~Harness() {
    for (void *p : buffers)
      std::free(p);
  }
  Harness(Harness &&) = default;
  bool bind(void *library, std::string &error) {
    fn = dlsym(library, symbol.c_str());
    if (!fn)
      error = "no symbol " + symbol;
    return fn != nullptr;
  }
  void call() {
    invokeAny(fn, args, std::make_index_sequence<18>());
    // Results are malloc'ed by the kernel and owned by the caller.
    for (size_t offset : resultOffsets) {
      void *allocated = reinterpret_cast<void *>(results[offset]);
      if (allocated && !llvm::is_contained(buffers, allocated))
        std::free(allocated);
      results[offset] = 0;
    }
  }

private:
  Harness() = default;
  std::string symbol;
  void *fn = nullptr;
  std::vector<void *> buffers, args;
  std::vector<int64_t> inputs; // argument descriptors, back to back
  std::vector<int64_t> results;
  std::vector<size_t> resultOffsets;
};

/// The manifest's tensors; a dynamic dim takes its size from `given` (the
/// --shape of that argument) or, for a result (`given` null), stays -1:
/// results are allocated by the kernel, only their rank matters.
llvm::Expected<std::vector<TensorSpec>>
specs(const json::Array *list,
      const std::map<unsigned, std::vector<int64_t>> *given) {
  std::vector<TensorSpec> out;
  for (const json::Value &v : list ? *list : json::Array()) {
    const json::Object *o = v.getAsObject();
    const json::Array *shape = o ? o->getArray("shape") : nullptr;
    std::optional<llvm::StringRef> dtype = o ? o->getString("dtype") : "";
    if (!shape || !dtype)
      return llvm::createStringError("malformed manifest tensor");
    TensorSpec s;
    s.dtype = dtype->str();
    const std::vector<int64_t> *shapeGiven = nullptr;
    if (given)
      if (auto it = given->find(out.size()); it != given->end())
        shapeGiven = &it->second;
    for (auto [d, dim] : llvm::enumerate(*shape)) {
      std::optional<int64_t> size = dim.getAsInteger();
      if (!size && shapeGiven && d < shapeGiven->size())
        size = (*shapeGiven)[d];
      if (!size && given)
        return llvm::createStringError(llvm::formatv(
            "argument {0} has a dynamic dim and no --shape", out.size()));
      s.shape.push_back(size.value_or(-1));
    }
    out.push_back(std::move(s));
  }
  return out;
}

llvm::Expected<Harness>
Harness::create(const json::Object &entry,
                const std::map<unsigned, std::vector<int64_t>> &argShapes) {
  Harness h;
  h.symbol = entry.getString("symbol").value_or("").str();
  auto argSpecs = specs(entry.getArray("arguments"), &argShapes);
  if (!argSpecs)
    return argSpecs.takeError();
  auto resultSpecs = specs(entry.getArray("results"), nullptr);
  if (!resultSpecs)
    return resultSpecs.takeError();
  if (argSpecs->size() + (resultSpecs->empty() ? 0 : 1) > 17)
    return llvm::createStringError("entry point has too many arguments");
  // Index inputs (assignments, members) stay within the smallest extent
  // of the function, so they are valid for any axis they index.
  int64_t indexBound = 0;
  for (const auto &list : {*argSpecs, *resultSpecs})
    for (const TensorSpec &s : list)
      for (int64_t d : s.shape)
        if (d > 1 && (indexBound == 0 || d < indexBound))
          indexBound = d;
  indexBound = std::max<int64_t>(indexBound, 1);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<float> real(-1, 1);
  std::uniform_int_distribution<int64_t> index(0, indexBound - 1);
  std::vector<size_t> inputOffsets;
  for (const TensorSpec &s : *argSpecs) {
    int64_t count = 1;
    for (int64_t d : s.shape)
      count *= d;
    size_t elt = s.dtype == "f16" || s.dtype == "bf16" ? 2
                 : s.dtype == "i64"                    ? 8
                                                       : 4;
    size_t bytes = std::max<size_t>(64, (count * elt + 63) / 64 * 64);
    void *data = std::aligned_alloc(64, bytes);
    h.buffers.push_back(data);
    for (int64_t i = 0; i < count; ++i) {
      if (s.dtype == "f32") {
        static_cast<float *>(data)[i] = real(rng);
      } else if (s.dtype == "f16" || s.dtype == "bf16") {
        llvm::APFloat v(real(rng));
        bool lost;
        v.convert(s.dtype == "f16" ? llvm::APFloat::IEEEhalf()
                                   : llvm::APFloat::BFloat(),
                  llvm::APFloat::rmNearestTiesToEven, &lost);
        static_cast<uint16_t *>(data)[i] = v.bitcastToAPInt().getZExtValue();
      } else if (s.dtype == "i64") {
        static_cast<int64_t *>(data)[i] = index(rng);
      } else {
        static_cast<int32_t *>(data)[i] = static_cast<int32_t>(index(rng));
      }
    }
    inputOffsets.push_back(h.inputs.size());
    auto rank = static_cast<int64_t>(s.shape.size());
    h.inputs.push_back(reinterpret_cast<int64_t>(data));
    h.inputs.push_back(reinterpret_cast<int64_t>(data));
    h.inputs.push_back(0);
    h.inputs.insert(h.inputs.end(), s.shape.begin(), s.shape.end());
    std::vector<int64_t> strides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * s.shape[d + 1];
    h.inputs.insert(h.inputs.end(), strides.begin(), strides.end());
  }
  for (const TensorSpec &s : *resultSpecs) {
    h.resultOffsets.push_back(h.results.size());
    h.results.resize(h.results.size() + 3 + 2 * s.shape.size(), 0);
  }
  if (!h.resultOffsets.empty())
    h.args.push_back(h.results.data());
  for (size_t offset : inputOffsets)
    h.args.push_back(h.inputs.data() + offset);
  return h;
}

//===----------------------------------------------------------------------===//
// Candidates
//===----------------------------------------------------------------------===//

struct Candidate {
  TileConfig tile;
  std::string mlir, so, log;
  bool compiled = false, failed = false;
  std::string codeHash; // candidates with equal code are measured once
  void *library = nullptr;
  std::vector<double> screen, full, paired; // ns per call
  bool pruned = false, duplicate = false;
};

struct TileLess {
  bool operator()(const TileConfig &a, const TileConfig &b) const {
    return std::pair(a.rows, a.cols) < std::pair(b.rows, b.cols);
  }
};

/// Argument index -> the shape --shape gives it, per function.
using ArgShapes = std::map<unsigned, std::vector<int64_t>>;

/// The op being tuned, with everything measured about it.
struct OpTuning {
  Operation *op = nullptr;
  std::string function, location;
  TileConfig defaultTile;
  std::vector<TileConfig> legal;
  clusopt::TuningKey key;
  std::vector<Candidate> candidates; // [0] is the default
  std::map<TileConfig, size_t, TileLess> index;
  std::string skipped; // why it was not tuned
  TuningRecord record;
  bool stored = false; // record is in the database
};

class Tuner {
public:
  Tuner(ModuleOp module, const clusopt::CpuTarget &target, std::string compiler,
        std::string tempDir, std::map<std::string, ArgShapes> shapes)
      : module(module), target(target), compiler(std::move(compiler)),
        tempDir(std::move(tempDir)), shapes(std::move(shapes)) {}

  /// Tunes `t` within `deadline`; fills t.record unless t.skipped is set.
  llvm::Error tune(OpTuning &t, size_t opNumber, size_t opCount,
                   Clock::time_point deadline);

private:
  size_t add(OpTuning &t, TileConfig tile);
  llvm::Error compileAll(OpTuning &t, llvm::ArrayRef<size_t> which,
                         Clock::time_point until, llvm::StringRef label);
  llvm::Error load(OpTuning &t, Candidate &c);
  std::vector<double> measure(Candidate &c, double minSeconds,
                              size_t minSamples, size_t maxSamples);
  void screenAll(OpTuning &t, llvm::ArrayRef<size_t> which,
                 llvm::StringRef label);
  std::vector<size_t> neighbours(OpTuning &t, size_t best);
  std::optional<size_t> bestScreened(OpTuning &t);

  ModuleOp module;
  const clusopt::CpuTarget &target;
  std::string compiler, tempDir;
  std::map<std::string, ArgShapes> shapes; // from --shape, per function
  std::optional<Harness> harness;
  Progress progress;
  size_t sequence = 0;
  int64_t inner = 1; // calls per sample
  bool warmedUp = false;
};

size_t Tuner::add(OpTuning &t, TileConfig tile) {
  auto [it, inserted] = t.index.try_emplace(tile, t.candidates.size());
  if (!inserted)
    return it->second;
  Candidate c;
  c.tile = tile;
  std::string stem = llvm::formatv("{0}/c{1}_r{2}_c{3}", tempDir, sequence++,
                                   tile.rows, tile.cols)
                         .str();
  c.mlir = stem + ".mlir";
  c.so = stem + ".so";
  c.log = stem + ".log";
  t.candidates.push_back(std::move(c));
  return it->second;
}

llvm::Error Tuner::compileAll(OpTuning &t, llvm::ArrayRef<size_t> which,
                              Clock::time_point until, llvm::StringRef label) {
  // Write each candidate's module (a lowering config on this op only) here;
  // the
  // MLIR context is not shared across threads.
  std::vector<size_t> todo;
  for (size_t i : which) {
    Candidate &c = t.candidates[i];
    if (c.compiled || c.failed)
      continue;
    clusopt::clus::setLoweringConfig(t.op,
                                     clusopt::loweringConfigFor(t.op, c.tile));
    std::error_code ec;
    llvm::raw_fd_ostream os(c.mlir, ec);
    if (ec)
      return llvm::createStringError("cannot write " + c.mlir + ": " +
                                     ec.message());
    module.print(os);
    todo.push_back(i);
  }
  t.op->removeAttr(clusopt::clus::LoweringConfigAttr::kAttrName);
  std::atomic<size_t> next{0}, done{0};
  unsigned n = jobs ? jobs : std::max(1u, std::thread::hardware_concurrency());
  auto worker = [&] {
    for (size_t k; (k = next++) < todo.size();) {
      Candidate &c = t.candidates[todo[k]];
      // The default is always compiled; others only while time is left.
      if (todo[k] != 0 && Clock::now() > until) {
        ++done;
        continue;
      }
      std::string targetFlag = "--target=" + target.name;
      llvm::SmallVector<llvm::StringRef> args = {
          compiler, c.mlir, targetFlag, "--no-tune", "--emit=so", "-o", c.so};
      std::optional<llvm::StringRef> redirects[] = {std::nullopt, c.log, c.log};
      std::string error;
      int rc = clusopt::runProgram(compiler, args, redirects, &error);
      c.compiled = rc == 0;
      c.failed = rc != 0;
      progress.bar(label, ++done, todo.size());
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < std::min<size_t>(n, todo.size()); ++i)
    pool.emplace_back(worker);
  for (std::thread &th : pool)
    th.join();
  progress.clear();
  for (size_t i : todo) {
    Candidate &c = t.candidates[i];
    if (c.failed) {
      // A legal tile that does not compile is a compiler bug: say so.
      auto log = llvm::MemoryBuffer::getFile(c.log);
      progress.line("warning: " + tileName(c.tile) + " failed to compile: " +
                    (log ? (*log)->getBuffer().trim().split('\n').first
                         : llvm::StringRef("(no log)")));
      if (i == 0)
        return llvm::createStringError("the default tile does not compile; "
                                       "see " +
                                       c.log);
      continue;
    }
    if (!c.compiled)
      continue;
    auto bytes = llvm::MemoryBuffer::getFile(c.so);
    if (!bytes)
      return llvm::createStringError("cannot read " + c.so);
    llvm::SHA256 sha;
    sha.update(llvm::arrayRefFromStringRef((*bytes)->getBuffer()));
    c.codeHash = llvm::toHex(sha.final());
  }
  return llvm::Error::success();
}

llvm::Error Tuner::load(OpTuning &t, Candidate &c) {
  if (c.library)
    return llvm::Error::success();
  // Libraries stay loaded until exit: OpenMP worker threads may still
  // reference their code, so unloading early is not safe.
  c.library = dlopen(c.so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!c.library)
    return llvm::createStringError(llvm::Twine("cannot load ") + c.so + ": " +
                                   dlerror());
  return llvm::Error::success();
}

/// Warm-up call, then samples of `inner` calls each until `minSeconds` and
/// `minSamples` are reached (at most `maxSamples`). Returns ns per call.
std::vector<double> Tuner::measure(Candidate &c, double minSeconds,
                                   size_t minSamples, size_t maxSamples) {
  std::string error;
  harness->bind(c.library, error);
  // Warm-up: page faults, the thread pool waking, caches, clock ramp; the
  // first library loaded also starts the OpenMP runtime, so it gets longer.
  auto start = Clock::now();
  double warmUp = warmedUp ? 0.01 : 0.25;
  for (int calls = 0; calls < 2 || seconds(start) < warmUp; ++calls)
    harness->call();
  warmedUp = true;
  std::vector<double> out;
  start = Clock::now();
  while (out.size() < maxSamples &&
         (out.size() < minSamples || seconds(start) < minSeconds)) {
    auto t0 = Clock::now();
    for (int64_t i = 0; i < inner; ++i)
      harness->call();
    double ns =
        std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
        inner;
    out.push_back(ns);
  }
  return out;
}

std::optional<size_t> Tuner::bestScreened(OpTuning &t) {
  std::optional<size_t> best;
  for (auto [i, c] : llvm::enumerate(t.candidates))
    if (!c.screen.empty() && !c.pruned &&
        (!best ||
         quantile(c.screen, 0.5) < quantile(t.candidates[*best].screen, 0.5)))
      best = i;
  return best;
}

void Tuner::screenAll(OpTuning &t, llvm::ArrayRef<size_t> which,
                      llvm::StringRef label) {
  size_t done = 0;
  for (size_t i : which) {
    Candidate &c = t.candidates[i];
    progress.bar(label, done++, which.size());
    if (!c.compiled || !c.screen.empty() || c.duplicate)
      continue;
    // Tiles that compile to the same code as one measured already.
    for (auto [j, other] : llvm::enumerate(t.candidates))
      if (j != i && !other.codeHash.empty() && other.codeHash == c.codeHash &&
          (!other.screen.empty() || other.duplicate))
        c.duplicate = true;
    if (c.duplicate)
      continue;
    if (llvm::Error err = load(t, c)) {
      progress.line("warning: " + llvm::toString(std::move(err)));
      continue;
    }
    c.screen = measure(c, exhaustive ? 0.15 : 0.03, exhaustive ? 7 : 3,
                       exhaustive ? 60 : 15);
    // Prune against the best so far: clearly slower means a median over
    // kPruneFactor times the best's and no overlap of the quartiles, so one
    // noisy sample never prunes. The default is always kept.
    std::optional<size_t> best = bestScreened(t);
    if (exhaustive || !best)
      continue;
    const std::vector<double> &b = t.candidates[*best].screen;
    for (auto [j, other] : llvm::enumerate(t.candidates))
      if (j != 0 && !other.screen.empty() &&
          quantile(other.screen, 0.5) > kPruneFactor * quantile(b, 0.5) &&
          quantile(other.screen, 0.25) > quantile(b, 0.75))
        other.pruned = true;
  }
  progress.bar(label, which.size(), which.size());
  progress.clear();
}

std::vector<size_t> Tuner::neighbours(OpTuning &t, size_t best) {
  TileConfig b = t.candidates[best].tile;
  int64_t w = target.vectorWidth;
  auto roundCols = [&](int64_t c) { return std::max(w, (c + w / 2) / w * w); };
  std::vector<TileConfig> around;
  for (int64_t dr : {-1, 0, 1})
    for (int64_t c : {b.cols - w, b.cols, b.cols + w, roundCols(b.cols * 3 / 4),
                      roundCols(b.cols * 3 / 2)})
      around.push_back({b.rows + dr, c});
  std::vector<size_t> out;
  std::set<TileConfig, TileLess> legal(t.legal.begin(), t.legal.end());
  for (TileConfig tile : around)
    if (legal.count(tile) && !t.index.count(tile))
      out.push_back(add(t, tile));
  return out;
}

llvm::Error Tuner::tune(OpTuning &t, size_t opNumber, size_t opCount,
                        Clock::time_point deadline) {
  auto start = Clock::now();
  double total = std::chrono::duration<double>(deadline - start).count();
  auto at = [&](double fraction) {
    return start + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(total * fraction));
  };
  std::string name = llvm::formatv("op {0}/{1} {2} @{3}", opNumber, opCount,
                                   t.op->getName().getStringRef(), t.function)
                         .str();

  // Coarse grid: rows {1, 2, 4, 8} × cols in powers of two times the
  // vector width plus the whole padded extent; all of it when exhaustive.
  add(t, t.defaultTile);
  int64_t maxCols = 0;
  for (const TileConfig &tile : t.legal)
    maxCols = std::max(maxCols, tile.cols);
  for (const TileConfig &tile : t.legal) {
    bool powerOfTwo = llvm::isPowerOf2_64(tile.cols / target.vectorWidth);
    bool coarseRows = llvm::isPowerOf2_64(tile.rows);
    if (exhaustive || (coarseRows && (powerOfTwo || tile.cols == maxCols)))
      add(t, tile);
  }
  std::vector<size_t> coarse(t.candidates.size());
  std::iota(coarse.begin(), coarse.end(), 0);
  auto phaseStart = Clock::now();
  if (llvm::Error err = compileAll(
          t, coarse, exhaustive ? Clock::time_point::max() : at(0.45),
          name + ": compile"))
    return err;
  size_t compiled = llvm::count_if(
      t.candidates, [](const Candidate &c) { return c.compiled; });
  progress.line(llvm::formatv("{0}: compiled {1} of {2} coarse candidates in "
                              "{3:f1} s",
                              name, compiled, coarse.size(),
                              seconds(phaseStart)));
  std::set<std::string> codes;
  for (const Candidate &c : t.candidates)
    if (c.compiled)
      codes.insert(c.codeHash);
  if (codes.size() == 1 && compiled > 1) {
    t.skipped = "every tile compiles to the same code (the kernel does not "
                "use them)";
    return llvm::Error::success();
  }

  // The harness calls the op's function with the shapes of the default
  // build's manifest.
  llvm::SmallString<128> manifestPath(t.candidates[0].so);
  sys::path::replace_extension(manifestPath, "json");
  auto manifestText = llvm::MemoryBuffer::getFile(manifestPath);
  if (!manifestText)
    return llvm::createStringError("cannot read " + manifestPath);
  llvm::Expected<json::Value> manifest =
      json::parse((*manifestText)->getBuffer());
  if (!manifest)
    return manifest.takeError();
  const json::Object *entry = nullptr;
  if (const json::Object *m = manifest->getAsObject())
    if (const json::Array *entries = m->getArray("entry_points"))
      for (const json::Value &e : *entries)
        if (e.getAsObject() && e.getAsObject()->getString("name") == t.function)
          entry = e.getAsObject();
  if (!entry)
    return llvm::createStringError(
        "the op is in @" + t.function +
        ", which is not a public entry point; only those can be measured");
  llvm::Expected<Harness> made = Harness::create(*entry, shapes[t.function]);
  if (!made)
    return made.takeError();
  harness.reset();
  harness.emplace(std::move(*made));

  // Calibrate: calls per sample so that one sample lasts kSampleSeconds.
  if (llvm::Error err = load(t, t.candidates[0]))
    return err;
  {
    std::string error;
    harness->bind(t.candidates[0].library, error);
    harness->call();
    auto t0 = Clock::now();
    harness->call();
    double once = seconds(t0);
    inner = std::max<int64_t>(1, static_cast<int64_t>(kSampleSeconds / once));
  }

  phaseStart = Clock::now();
  screenAll(t, coarse, name + ": screen");
  // Refine around the best until nothing new wins or time is short.
  for (int round = 0; !exhaustive && round < 3 && Clock::now() < at(0.6);
       ++round) {
    std::optional<size_t> best = bestScreened(t);
    if (!best)
      break;
    std::vector<size_t> next = neighbours(t, *best);
    if (next.empty())
      break;
    if (llvm::Error err = compileAll(t, next, at(0.6), name + ": refine"))
      return err;
    screenAll(t, next, name + ": screen");
    if (bestScreened(t) == best)
      break;
  }
  size_t measured = llvm::count_if(
      t.candidates, [](const Candidate &c) { return !c.screen.empty(); });
  size_t pruned =
      llvm::count_if(t.candidates, [](const Candidate &c) { return c.pruned; });
  progress.line(llvm::formatv("{0}: screened {1} candidates, pruned {2}, in "
                              "{3:f1} s",
                              name, measured, pruned, seconds(phaseStart)));

  // Full measurements of the best survivors.
  std::vector<size_t> ranked;
  for (auto [i, c] : llvm::enumerate(t.candidates))
    if (!c.screen.empty() && !c.pruned)
      ranked.push_back(i);
  llvm::sort(ranked, [&](size_t a, size_t b) {
    return quantile(t.candidates[a].screen, 0.5) <
           quantile(t.candidates[b].screen, 0.5);
  });
  if (!exhaustive && ranked.size() > kFullCount)
    ranked.resize(kFullCount);
  if (!llvm::is_contained(ranked, 0))
    ranked.push_back(0);
  for (auto [k, i] : llvm::enumerate(ranked)) {
    progress.bar(name + ": measure", k, ranked.size());
    if (!exhaustive && Clock::now() > at(0.8) && k >= 2)
      break;
    t.candidates[i].full = measure(t.candidates[i], exhaustive ? 0.3 : 0.1,
                                   exhaustive ? 11 : 7, 200);
  }
  progress.clear();
  std::vector<size_t> finalists;
  for (size_t i : ranked)
    if (i != 0 && !t.candidates[i].full.empty())
      finalists.push_back(i);
  llvm::sort(finalists, [&](size_t a, size_t b) {
    return quantile(t.candidates[a].full, 0.5) <
           quantile(t.candidates[b].full, 0.5);
  });
  if (finalists.size() > kPairedCount)
    finalists.resize(kPairedCount);
  finalists.insert(finalists.begin(), 0);

  // Interleaved paired timing: each round times every finalist once, in a
  // shuffled order, so drift (frequency, other load) hits all of them; a
  // candidate's score is the median of its per-round ratio to the default.
  std::mt19937 shuffle(7);
  std::vector<std::vector<double>> ratios(finalists.size());
  phaseStart = Clock::now();
  double pairedSeconds = std::max(0.2, total * 0.15);
  for (size_t round = 0;
       round < 400 && (round < 9 || seconds(phaseStart) < pairedSeconds) &&
       (round < 9 || exhaustive || Clock::now() < deadline);
       ++round) {
    progress.bar(
        name + ": paired",
        std::min<size_t>(100 * seconds(phaseStart) / pairedSeconds, 100), 100);
    std::vector<size_t> order(finalists.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), shuffle);
    std::vector<double> times(finalists.size());
    for (size_t k : order) {
      Candidate &c = t.candidates[finalists[k]];
      std::string error;
      harness->bind(c.library, error);
      harness->call();
      auto t0 = Clock::now();
      for (int64_t i = 0; i < inner; ++i)
        harness->call();
      times[k] =
          std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
          inner;
      c.paired.push_back(times[k]);
    }
    for (size_t k = 0; k < finalists.size(); ++k)
      ratios[k].push_back(times[k] / times[0]);
  }
  progress.clear();

  // The pick must beat the default in most rounds (upper quartile of its
  // ratio below 1); otherwise the default stays, so noise never flips it.
  size_t pick = 0;
  for (size_t k = 1; k < finalists.size(); ++k)
    if (quantile(ratios[k], 0.75) < 1.0 &&
        quantile(ratios[k], 0.5) < quantile(ratios[pick], 0.5))
      pick = k;

  TuningRecord &r = t.record;
  r.key = t.key;
  Candidate &best = t.candidates[finalists[pick]];
  r.tile = best.tile;
  r.defaultTile = t.defaultTile;
  r.medianNs = quantile(best.paired, 0.5);
  r.defaultMedianNs = quantile(t.candidates[0].paired, 0.5);
  r.speedup = 1.0 / quantile(ratios[pick], 0.5);
  r.measured = llvm::count_if(
      t.candidates, [](const Candidate &c) { return !c.screen.empty(); });
  r.pruned =
      llvm::count_if(t.candidates, [](const Candidate &c) { return c.pruned; });
  r.elapsedS = seconds(start);
  for (const Candidate &c : t.candidates)
    for (auto [phase, samples] :
         {std::pair{"screen", &c.screen}, std::pair{"full", &c.full},
          std::pair{"paired", &c.paired}})
      if (!samples->empty())
        r.measurements.push_back(
            {c.tile, phase, quantile(*samples, 0.5),
             quantile(*samples, 0.75) - quantile(*samples, 0.25),
             static_cast<int64_t>(samples->size())});
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Shapes of dynamic entry points (--shape)
//===----------------------------------------------------------------------===//

std::string typeString(Type t) {
  std::string text;
  llvm::raw_string_ostream os(text);
  t.print(os);
  return text;
}

/// Checks `shapes` against the ops of `func`: a copy of the function whose
/// arguments have these static shapes, with the clus ops' result types
/// inferred again, must still verify, so inconsistent sizes (a pool's token
/// count in z and x, say) fail here with the op's message instead of
/// making a kernel read out of bounds. Returns the copy's ops that have
/// tile knobs, in walk order, for their static extents.
llvm::Error checkShapesFit(func::FuncOp func, const ArgShapes &shapes,
                           llvm::StringRef given,
                           std::vector<std::optional<int64_t>> &extents) {
  OwningOpRef<func::FuncOp> copy(func.clone());
  Block &entry = copy->getBody().front();
  for (auto &[index, shape] : shapes) {
    BlockArgument arg = entry.getArgument(index);
    auto type = cast<RankedTensorType>(arg.getType());
    arg.setType(type.clone(shape));
  }
  // The destinations are sized from the arguments (tensor.dim): fold those
  // sizes so each op sees the static types it would have at these shapes.
  MLIRContext *context = func.getContext();
  RewritePatternSet patterns(context);
  for (Dialect *dialect : context->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName name : context->getRegisteredOperations())
    name.getCanonicalizationPatterns(patterns, context);
  (void)applyPatternsGreedily(copy->getOperation(), std::move(patterns));
  bool ok = true;
  copy->walk([&](Operation *op) {
    if (!ok || !isa<clusopt::clus::ClusDialect>(op->getDialect()))
      return;
    // Inference reports its own error (with the op's location).
    if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
      SmallVector<Type> inferred;
      if (failed(infer.inferReturnTypes(
              op->getContext(), op->getLoc(), op->getOperands(),
              op->getAttrDictionary(), op->getPropertiesStorage(),
              op->getRegions(), inferred))) {
        ok = false;
        return;
      }
      if (inferred.size() == op->getNumResults())
        for (auto [result, type] : llvm::zip(op->getResults(), inferred))
          result.setType(type);
    }
    ok = succeeded(mlir::verify(op, /*verifyRecursively=*/false));
    if (ok && clusopt::tileKnobs(op).any())
      extents.push_back(clusopt::streamedExtent(op));
  });
  if (!ok)
    return llvm::createStringError(
        "the shapes given for @" + func.getSymName() + " (" + given +
        ") do not fit its ops (see the error above)");
  return llvm::Error::success();
}

/// Parses --shape for the entry points in `funcs` and checks each against
/// the argument it names. Every dynamic argument must get one.
llvm::Expected<std::map<std::string, ArgShapes>>
parseShapes(llvm::ArrayRef<func::FuncOp> funcs) {
  std::map<std::string, ArgShapes> out;
  auto error = [](const llvm::Twine &message) {
    return llvm::createStringError("--shape " + message);
  };
  for (const std::string &flag : shapeFlags) {
    llvm::StringRef text = flag;
    auto [name, dims] = text.split('=');
    std::optional<llvm::StringRef> function;
    if (name.consume_front("@")) {
      auto [f, arg] = name.split(':');
      function = f;
      name = arg;
    }
    unsigned index;
    if (!name.consume_front("arg") || name.getAsInteger(10, index) ||
        dims.empty())
      return error("takes [@function:]argN=D0xD1x..., e.g. arg0=1x3136x96; "
                   "got '" +
                   flag + "'");
    std::vector<int64_t> shape;
    for (llvm::StringRef d : llvm::split(dims, 'x')) {
      int64_t size;
      if (d.getAsInteger(10, size) || size < 1 || size > (int64_t(1) << 31))
        return error(flag +
                     ": each dim must be an integer in [1, 2^31], "
                     "got '" +
                     d + "'");
      shape.push_back(size);
    }
    std::vector<func::FuncOp> targets;
    for (func::FuncOp f : funcs)
      if (!function || f.getSymName() == *function)
        targets.push_back(f);
    if (targets.empty()) {
      std::string names;
      for (func::FuncOp f : funcs)
        names += (names.empty() ? "@" : ", @") + f.getSymName().str();
      return error(flag + ": no entry point @" + function.value_or("") +
                   " with ops to tune (those are: " +
                   (names.empty() ? "none" : names) + ")");
    }
    for (func::FuncOp f : targets) {
      std::string where = ("@" + f.getSymName()).str();
      if (index >= f.getNumArguments())
        return error(llvm::formatv(
            "{0}: {1} has {2} arguments{3}", flag, where, f.getNumArguments(),
            f.getNumArguments()
                ? llvm::formatv(" (arg0 to arg{0})", f.getNumArguments() - 1)
                      .str()
                : std::string()));
      auto type = dyn_cast<RankedTensorType>(f.getArgumentTypes()[index]);
      if (!type)
        return error(flag + ": arg" + llvm::Twine(index) + " of " + where +
                     " is not a ranked tensor");
      if (type.getRank() != static_cast<int64_t>(shape.size()))
        return error(llvm::formatv("{0}: arg{1} of {2} is {3}, of rank {4}, "
                                   "not {5}",
                                   flag, index, where, typeString(type),
                                   type.getRank(), shape.size()));
      for (auto [d, size] : llvm::enumerate(shape))
        if (!type.isDynamicDim(d) && type.getDimSize(d) != size)
          return error(llvm::formatv("{0}: dim {1} of arg{2} of {3} ({4}) is "
                                     "{5}, not {6}",
                                     flag, d, index, where, typeString(type),
                                     type.getDimSize(d), size));
      if (!out[f.getSymName().str()].try_emplace(index, shape).second)
        return error(llvm::formatv("{0}: arg{1} of {2} is given more than "
                                   "once",
                                   flag, index, where));
    }
  }
  // Refuse before any work when a dynamic argument has no shape.
  std::string missing;
  for (func::FuncOp f : funcs) {
    std::string args;
    for (auto [i, t] : llvm::enumerate(f.getArgumentTypes())) {
      auto type = dyn_cast<RankedTensorType>(t);
      if (!type || type.hasStaticShape() || out[f.getSymName().str()].count(i))
        continue;
      args += llvm::formatv("{0}arg{1} ({2})", args.empty() ? "" : ", ", i,
                            typeString(type))
                  .str();
    }
    if (!args.empty())
      missing += llvm::formatv("{0}@{1}: {2}", missing.empty() ? "" : "; ",
                               f.getSymName(), args)
                     .str();
  }
  if (!missing.empty())
    return llvm::createStringError(
        "dynamic-shape entry points are measured at the shapes you name; "
        "give --shape [@function:]argN=D0xD1x... (e.g. --shape "
        "arg0=1x3136x96) for each of: " +
        missing);
  return out;
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

// Ranges of the numeric flags.
constexpr int kMaxBudgetSeconds = 24 * 3600;
constexpr unsigned kMaxJobs = 1024;

/// Checks every flag and how they combine before anything is read,
/// compiled or measured, so a bad request fails at once and names the flag.
llvm::Error checkFlags() {
  auto error = [](const llvm::Twine &message) {
    return llvm::createStringError(message);
  };
  llvm::SmallVector<llvm::StringRef> actions;
  if (listRecords.getNumOccurrences())
    actions.push_back("--list");
  if (exportPath.getNumOccurrences())
    actions.push_back("--export");
  if (importPath.getNumOccurrences())
    actions.push_back("--import");
  if (actions.size() > 1)
    return error(actions[0] + " and " + actions[1] +
                 " cannot be combined; give one of --list, --export and "
                 "--import");
  if (dbPath.getNumOccurrences() && dbPath.empty())
    return error("--db needs a path");
  if (importPath.getNumOccurrences() && importPath.empty())
    return error("--import needs a path ('-' is stdin)");
  if (exportPath.getNumOccurrences())
    if (llvm::Error err = clusopt::checkOutputPath(exportPath, "--export"))
      return err;
  // Flags that only mean something when tuning a module.
  std::pair<llvm::StringRef, bool> tuningFlags[] = {
      {"--budget", budget.getNumOccurrences() > 0},
      {"--jobs", jobs.getNumOccurrences() > 0},
      {"--exhaustive", exhaustive.getNumOccurrences() > 0},
      {"--report-json", reportJson.getNumOccurrences() > 0}};
  if (!actions.empty()) {
    if (!inputFile.empty())
      return error(actions[0] +
                   " works on the database and takes no input "
                   "file (got " +
                   inputFile + ")");
    for (auto [flag, given] : tuningFlags)
      if (given)
        return error(flag + " applies only when tuning a module, not with " +
                     actions[0]);
    for (auto [flag, given] : {std::pair<llvm::StringRef, bool>{
                                   "--target", targetName.getNumOccurrences()},
                               {"--print-keys", printKeys.getNumOccurrences()}})
      if (given)
        return error(flag + " does not apply to " + actions[0]);
    return llvm::Error::success();
  }
  if (printKeys) {
    for (auto [flag, given] : tuningFlags)
      if (given)
        return error(flag + " does not apply to --print-keys");
    return llvm::Error::success();
  }
  if (exhaustive && budget.getNumOccurrences())
    return error("--exhaustive measures every legal tile with no budget; "
                 "drop --budget or --exhaustive");
  if (!std::isfinite(budget) || budget <= 0 || budget > kMaxBudgetSeconds) {
    char given[32];
    std::snprintf(given, sizeof(given), "%g", budget.getValue());
    return error(llvm::formatv("--budget must be a number of seconds in (0, "
                               "{0}], got {1}",
                               kMaxBudgetSeconds, given));
  }
  if (jobs.getNumOccurrences() && (jobs < 1 || jobs > kMaxJobs))
    return error(llvm::formatv("--jobs must be in [1, {0}], got {1}", kMaxJobs,
                               jobs.getValue()));
  // Before a tune that may take minutes, not after it.
  if (reportJson.getNumOccurrences())
    if (llvm::Error err = clusopt::checkOutputPath(reportJson, "--report-json"))
      return err;
  return llvm::Error::success();
}

std::string databasePath() {
  return dbPath.getNumOccurrences() ? dbPath.getValue()
                                    : clusopt::defaultTuningDbPath();
}

int manageDatabase() {
  std::string path = databasePath();
  if (!importPath.empty()) {
    auto text = llvm::MemoryBuffer::getFileOrSTDIN(importPath);
    if (!text)
      return fail("cannot read " + importPath + ": " +
                  text.getError().message());
    llvm::Expected<json::Value> doc = json::parse((*text)->getBuffer());
    if (!doc)
      return fail(importPath + ": " + llvm::toString(doc.takeError()));
    const json::Object *o = doc->getAsObject();
    const json::Array *records = o ? o->getArray("records") : nullptr;
    if (!records || o->getString("format") != "clusopt-tuning/1")
      return fail(importPath + ": not a clusopt-tuning/1 export (expected "
                               "{\"format\": \"clusopt-tuning/1\", "
                               "\"records\": [...]})");
    // Check every record before writing any.
    std::vector<TuningRecord> parsed;
    for (auto [i, v] : llvm::enumerate(*records)) {
      llvm::Expected<TuningRecord> r = TuningRecord::fromJson(v);
      if (!r)
        return fail(llvm::formatv("{0}: record {1}: {2}", importPath, i,
                                  llvm::toString(r.takeError())));
      parsed.push_back(std::move(*r));
    }
    auto db = TuningDatabase::open(path, TuningDatabase::Mode::Update);
    if (!db)
      return fail(llvm::toString(db.takeError()));
    size_t added = 0;
    for (TuningRecord &r : parsed) {
      llvm::Expected<bool> inserted = (*db)->insert(r);
      if (!inserted)
        return fail(llvm::toString(inserted.takeError()));
      added += *inserted;
    }
    llvm::outs() << llvm::formatv("imported {0} records ({1} already "
                                  "present) into {2}\n",
                                  added, parsed.size() - added, path);
    return 0;
  }
  auto db = TuningDatabase::open(path, TuningDatabase::Mode::Lookup);
  if (!db)
    return fail(llvm::toString(db.takeError()));
  bool full = !exportPath.empty();
  auto records = (*db)->all(full);
  if (!records)
    return fail(llvm::toString(records.takeError()));
  json::Array list;
  for (const TuningRecord &r : *records)
    list.push_back(r.toJson(full));
  json::Value doc =
      full ? json::Value(json::Object{{"format", "clusopt-tuning/1"},
                                      {"records", std::move(list)}})
           : json::Value(std::move(list));
  std::string text = llvm::formatv("{0:2}\n", doc).str();
  if (!full || exportPath == "-") {
    llvm::outs() << text;
    return 0;
  }
  if (llvm::Error err = clusopt::writeOutput(exportPath, text))
    return fail(llvm::toString(std::move(err)));
  return 0;
}

/// Writes records the database refused as an export that --import takes,
/// beside the database or else in the temporary directory; returns its path.
llvm::Expected<std::string> saveUnstored(llvm::ArrayRef<TuningRecord *> records,
                                         llvm::StringRef dbPath) {
  json::Array list;
  for (const TuningRecord *r : records)
    list.push_back(r->toJson(/*withMeasurements=*/true));
  std::string text =
      llvm::formatv("{0:2}\n",
                    json::Value(json::Object{{"format", "clusopt-tuning/1"},
                                             {"records", std::move(list)}}))
          .str();
  int fd;
  llvm::SmallString<128> kept;
  std::error_code ec =
      sys::fs::createUniqueFile(dbPath + ".unsaved-%%%%%%.json", fd, kept);
  if (ec)
    ec = sys::fs::createTemporaryFile("clusopt-tune-unsaved", "json", fd, kept);
  if (ec)
    return llvm::createStringError(ec, "cannot create a file: " + ec.message());
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  os << text;
  os.close();
  if (std::error_code writeError = os.error()) {
    os.clear_error();
    return llvm::createStringError(writeError, "cannot write " + kept + ": " +
                                                   writeError.message());
  }
  return kept.str().str();
}

int tuneModule() {
  if (inputFile.empty())
    return fail("no input file (clusopt-tune in.mlir --target=...)");
  llvm::Expected<clusopt::CpuTarget> target =
      clusopt::resolveCpuTarget(targetName);
  if (!target)
    return fail(llvm::toString(target.takeError()));
  DialectRegistry registry;
  registerAllDialects(registry);
  registry.insert<clusopt::clus::ClusDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  std::string error;
  auto input = clusopt::readInputFile(inputFile, clusopt::kMlirInput,
                                      /*requiresNullTerminator=*/true,
                                      /*allowStdin=*/true);
  if (!input)
    return fail(llvm::toString(input.takeError()));
  sourceMgr.AddNewSourceBuffer(std::move(*input), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  if (printKeys) {
    json::Array keys;
    module->walk([&](Operation *op) {
      if (!clusopt::tileKnobs(op).any())
        return;
      clusopt::TuningKey key = clusopt::tuningKey(op, *target);
      keys.push_back(json::Object{{"key", key.toJson()}, {"hash", key.hash()}});
    });
    llvm::outs() << llvm::formatv("{0:2}\n", json::Value(std::move(keys)));
    return 0;
  }

  if (!target->runsHere)
    return fail("--target=" + target->name +
                " code cannot run on this machine, so it cannot be measured "
                "here");
  auto start = Clock::now();

  // The entry points with ops to tune, and the shapes to measure them at:
  // checked before anything is compiled.
  std::vector<func::FuncOp> tunedFuncs;
  module->walk([&](Operation *op) {
    if (!clusopt::tileKnobs(op).any() || clusopt::clus::getLoweringConfig(op))
      return;
    auto func = op->getParentOfType<func::FuncOp>();
    if (func && !llvm::is_contained(tunedFuncs, func))
      tunedFuncs.push_back(func);
  });
  llvm::Expected<std::map<std::string, ArgShapes>> shapes =
      parseShapes(tunedFuncs);
  if (!shapes)
    return fail(llvm::toString(shapes.takeError()));
  // The streamed extent of each op at those shapes, to drop tiles past it.
  std::map<Operation *, std::optional<int64_t>> extentAtShapes;
  for (func::FuncOp f : tunedFuncs) {
    auto it = shapes->find(f.getSymName().str());
    if (it == shapes->end() || it->second.empty())
      continue;
    std::string given;
    for (auto &[index, shape] : it->second) {
      given +=
          llvm::formatv("{0}arg{1}=", given.empty() ? "" : ", ", index).str();
      for (auto [d, size] : llvm::enumerate(shape))
        given += (d ? "x" : "") + std::to_string(size);
    }
    std::vector<std::optional<int64_t>> extents;
    if (llvm::Error err = checkShapesFit(f, it->second, given, extents))
      return fail(llvm::toString(std::move(err)));
    size_t k = 0;
    f.walk([&](Operation *op) {
      if (clusopt::tileKnobs(op).any() && k < extents.size())
        extentAtShapes[op] = extents[k++];
    });
  }

  // clusopt-compile from the same directory: the search space is its
  // --print-tile-space, and its keys and version are this binary's.
  std::string self = sys::fs::getMainExecutable(
      "clusopt-tune", reinterpret_cast<void *>(&fail));
  llvm::SmallString<256> compiler(sys::path::parent_path(self));
  sys::path::append(compiler, "clusopt-compile");
  if (!sys::fs::can_execute(compiler))
    return fail("cannot find clusopt-compile beside clusopt-tune (" + compiler +
                ")");

  // Open the database first: a broken one fails before any work.
  std::string path = databasePath();
  auto db = TuningDatabase::open(path, TuningDatabase::Mode::Update);
  if (!db)
    return fail(llvm::toString(db.takeError()));

  // Scratch files (candidate modules and libraries) go to a private
  // directory, removed on exit and on SIGINT/SIGTERM/SIGHUP; first remove
  // those that killed runs (kill -9) left behind.
  clusopt::removeStaleScratchDirectories("clusopt-tune");
  clusopt::removeStaleScratchDirectories("clusopt-compile");
  auto scratch = clusopt::ScratchDirectory::create("clusopt-tune");
  if (!scratch)
    return fail(llvm::toString(scratch.takeError()));
  llvm::StringRef tempDir = (*scratch)->path();

  std::string spacePath = (*scratch)->file("space.json");
  {
    std::string targetFlag = "--target=" + target->name;
    llvm::StringRef args[] = {
        compiler, inputFile, targetFlag, "--print-tile-space", "-o", spacePath};
    std::string error;
    if (clusopt::runProgram(compiler, args, {}, &error))
      return fail("clusopt-compile --print-tile-space failed on " + inputFile +
                  " " + error);
  }
  auto spaceText = llvm::MemoryBuffer::getFile(spacePath);
  if (!spaceText)
    return fail("cannot read the tile space");
  llvm::Expected<json::Value> space = json::parse((*spaceText)->getBuffer());
  if (!space)
    return fail("malformed tile space: " + llvm::toString(space.takeError()));
  const json::Array *spaceOps =
      space->getAsObject() ? space->getAsObject()->getArray("ops") : nullptr;
  if (!spaceOps)
    return fail("malformed tile space: no ops");

  // The tile space lists the ops with a kernel in walk order.
  std::vector<OpTuning> ops;
  module->walk([&](Operation *op) {
    if (clusopt::tileKnobs(op).any()) {
      ops.emplace_back();
      ops.back().op = op;
    }
  });
  if (ops.size() != spaceOps->size())
    return fail("the tile space and the module disagree on the ops");
  for (auto [t, v] : llvm::zip(ops, *spaceOps)) {
    const json::Object *o = v.getAsObject();
    if (!o || o->getString("op") != t.op->getName().getStringRef())
      return fail("the tile space and the module disagree on the ops");
    t.function = o->getString("function").value_or("").str();
    t.location = o->getString("location").value_or("").str();
    llvm::Expected<TileConfig> def = [&]() -> llvm::Expected<TileConfig> {
      const json::Object *d = o->getObject("default");
      if (!d || !d->getInteger("rows") || !d->getInteger("cols"))
        return llvm::createStringError("malformed tile space: default");
      return TileConfig{*d->getInteger("rows"), *d->getInteger("cols")};
    }();
    if (!def)
      return fail(llvm::toString(def.takeError()));
    t.defaultTile = *def;
    for (const json::Value &l : *o->getArray("legal")) {
      const json::Object *lo = l.getAsObject();
      t.legal.push_back({lo->getInteger("rows").value_or(0),
                         lo->getInteger("cols").value_or(0)});
    }
    // At the --shape sizes, tiles past the padded streamed extent are the
    // same single pass as the extent itself: keep one of them.
    if (auto it = extentAtShapes.find(t.op);
        it != extentAtShapes.end() && it->second) {
      int64_t w = target->vectorWidth;
      int64_t padded = std::max(w, (*it->second + w - 1) / w * w);
      TileConfig def = t.defaultTile;
      llvm::erase_if(t.legal, [&](const TileConfig &tile) {
        return tile.cols > padded &&
               !(tile.rows == def.rows && tile.cols == def.cols);
      });
    }
    t.key = clusopt::tuningKey(t.op, *target);
    if (clusopt::clus::getLoweringConfig(t.op))
      t.skipped = "pinned by its clus.lowering_config";
  }

  // One default build gives the entry points' shapes for the harness.
  Tuner tuner(*module, *target, compiler.str().str(), tempDir.str(), *shapes);
  Progress progress;
  progress.line(llvm::formatv("tuning {0} for {1} ({2}, {3}): {4} ops with a "
                              "kernel, budget {5} s, database {6}",
                              inputFile, target->name, target->triple,
                              target->cpu, ops.size(), budget.getValue(),
                              path));
  json::Array reportOps;
  std::string storeError;
  size_t number = 0, toTune = llvm::count_if(ops, [](const OpTuning &t) {
                       return t.skipped.empty();
                     });
  for (OpTuning &t : ops) {
    if (!t.skipped.empty()) {
      progress.line(llvm::formatv("{0} @{1}: not tuned: {2}",
                                  t.op->getName().getStringRef(), t.function,
                                  t.skipped));
      continue;
    }
    ++number;
    double left = budget - seconds(start);
    double share = std::max(2.0, left / (toTune - number + 1));
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(share));
    if (llvm::Error err = tuner.tune(t, number, toTune, deadline))
      return fail(llvm::toString(std::move(err)));
    if (!t.skipped.empty()) {
      progress.line(llvm::formatv("{0} @{1}: not tuned: {2}",
                                  t.op->getName().getStringRef(), t.function,
                                  t.skipped));
      continue;
    }
    // Store each record as soon as it is measured. Once the database
    // refuses one (locked past the timeout, say), keep tuning and try the
    // rest once more at the end, so nothing measured is lost.
    if (storeError.empty()) {
      llvm::Expected<bool> stored = (*db)->insert(t.record);
      if (stored) {
        t.stored = true;
      } else {
        storeError = llvm::toString(stored.takeError());
        progress.line("warning: " + storeError +
                      "; keeping the results and trying again at the end");
      }
    }
  }
  std::vector<TuningRecord *> unstored;
  for (OpTuning &t : ops) {
    if (!t.skipped.empty() || t.stored)
      continue;
    llvm::Expected<bool> stored = (*db)->insert(t.record);
    if (stored)
      t.stored = true;
    else
      storeError = llvm::toString(stored.takeError());
    if (!t.stored)
      unstored.push_back(&t.record);
  }

  // The report.
  auto &os = llvm::outs();
  os << llvm::formatv("{0,-16} {1,-12} {2,-18} {3,11} {4,-18} {5,11} {6,8} "
                      "{7,8} {8,6} {9,7}\n",
                      "op", "function", "default", "median", "best", "median",
                      "speedup", "measured", "pruned", "time");
  double bestRatio = 0;
  for (OpTuning &t : ops) {
    if (!t.skipped.empty())
      continue;
    const TuningRecord &r = t.record;
    os << llvm::formatv(
        "{0,-16} {1,-12} {2,-18} {3,11} {4,-18} {5,11} {6,7:f2}x {7,8} {8,6} "
        "{9,6:f1}s\n",
        t.op->getName().getStringRef(), t.function, tileName(r.defaultTile),
        duration(r.defaultMedianNs), tileName(r.tile), duration(r.medianNs),
        r.speedup, r.measured, r.pruned, r.elapsedS);
    bestRatio = std::max(bestRatio, r.speedup);
    json::Object shapesJson;
    for (auto &[index, shape] : (*shapes)[t.function])
      shapesJson["arg" + std::to_string(index)] = json::Array(shape);
    reportOps.push_back(json::Object{{"op", t.op->getName().getStringRef()},
                                     {"function", t.function},
                                     {"shapes", std::move(shapesJson)},
                                     {"location", t.location},
                                     {"record", r.toJson(true)}});
  }
  for (OpTuning &t : ops)
    if (!t.skipped.empty())
      os << llvm::formatv("{0,-16} {1,-12} not tuned: {2}\n",
                          t.op->getName().getStringRef(), t.function,
                          t.skipped);
  if (bestRatio > 0)
    os << llvm::formatv("best against default: {0:f2}x; {1:f1} s in all{2}\n",
                        bestRatio, seconds(start),
                        unstored.empty() ? "; records in " + path : "");
  if (!reportJson.empty()) {
    std::string text =
        llvm::formatv("{0:2}\n",
                      json::Value(json::Object{{"target", target->name},
                                               {"elapsed_s", seconds(start)},
                                               {"ops", std::move(reportOps)}}))
            .str();
    if (llvm::Error err = clusopt::writeOutput(reportJson, text))
      return fail(llvm::toString(std::move(err)));
  }
  if (!unstored.empty()) {
    llvm::Expected<std::string> kept = saveUnstored(unstored, path);
    if (!kept)
      return fail(llvm::formatv("could not store {0} measured record(s) in "
                                "{1}: {2}; and could not keep them either: {3}",
                                unstored.size(), path, storeError,
                                llvm::toString(kept.takeError())));
    return fail(llvm::formatv("could not store {0} measured record(s) in {1}: "
                              "{2}; they are kept in {3}: add them with "
                              "clusopt-tune --import={3} --db={1}",
                              unstored.size(), path, storeError, *kept));
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  if (!clusopt::parseCommandLine(
          argc, argv,
          "clusopt-tune: measure tile sizes for clus kernels\n\n"
          "Searches the tile sizes clusopt-compile --print-tile-space lists "
          "for\n"
          "each op, on this machine, and records the best in the tuning\n"
          "database clusopt-compile reads (each op's lowering config).\n"
          "Entry points with dynamic dims are measured at the shapes\n"
          "--shape names, one per dynamic argument; without them nothing is\n"
          "compiled and the error names the arguments that need one.\n\n"
          "  clusopt-tune paca.mlir --target=host --budget=30\n"
          "  clusopt-tune pool.mlir --shape arg0=1x100x3136 --shape "
          "arg1=1x3136x96\n"
          "  clusopt-tune --list\n"
          "  clusopt-tune --export=records.json\n"
          "  clusopt-tune --import=records.json --db=team.sqlite\n\n"
          "Candidates are compiled into a private clusopt-tune-<pid>-XXXXXX\n"
          "directory in $TMPDIR, removed on exit and on SIGINT, SIGTERM and\n"
          "SIGHUP; each run also removes the directories that runs of this "
          "user\n"
          "killed with SIGKILL left there. --report-json and --export files "
          "are\n"
          "replaced atomically.\n",
          category))
    return 1;
  if (llvm::Error err = checkFlags())
    return fail(llvm::toString(std::move(err)));
  if (listRecords || exportPath.getNumOccurrences() ||
      importPath.getNumOccurrences())
    return manageDatabase();
  return tuneModule();
}

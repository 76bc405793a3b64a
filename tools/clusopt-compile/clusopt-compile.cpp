//===- clusopt-compile.cpp - clus kernels to CPU code -----------*- C++ -*-===//
//
// Compiles a module of clus ops (mixed with upstream ops) for one CPU
// target through the clus-cpu-to-llvm pipeline, and writes the lowered
// MLIR, LLVM IR, assembly, an object file, or a shared library with a C
// header and a JSON manifest of its entry points.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Conversion/ClusToGPU.h"
#include "clusopt/Conversion/ClusToVector.h"
#include "clusopt/Conversion/Passes.h"
#include "clusopt/Dialect/Clus/ClusDialect.h"
#include "clusopt/Dialect/Clus/ClusOps.h"
#include "clusopt/Dialect/Clus/LoweringConfig.h"
#include "clusopt/Pipelines/Pipelines.h"
#include "clusopt/Support/CommandLine.h"
#include "clusopt/Support/InputFile.h"
#include "clusopt/Support/OutputFiles.h"
#include "clusopt/Transforms/Passes.h"
#include "clusopt/Tuning/CpuTarget.h"
#include "clusopt/Tuning/ToolFlags.h"
#include "clusopt/Tuning/TuningDatabase.h"
#include "tools/clusopt-compile/Codegen.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <set>
#include <tuple>
#include <vector>

using namespace mlir;
namespace cl = llvm::cl;
namespace json = llvm::json;
namespace sys = llvm::sys;
using llvm::CodeGenFileType;
using llvm::errs;
using llvm::raw_string_ostream;
using llvm::SmallString;
using llvm::SMLoc;
using llvm::SourceMgr;
using llvm::StringMap;
using llvm::TargetMachine;

namespace {

enum class Emit { MLIR, LLVM, Asm, Obj, So, Ptx, Cubin, Fatbin };

cl::OptionCategory category("clusopt-compile options");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input .mlir>"),
                               cl::init("-"), cl::cat(category));
cl::opt<std::string>
    outputFile("o",
               cl::desc("Output path ('-' is stdout). With --emit=so the C "
                        "header and JSON manifest are written beside it as "
                        "<stem>.h and <stem>.json"),
               cl::value_desc("path"), cl::init("-"), cl::cat(category));
cl::opt<std::string> targetName(
    "target",
    cl::desc("CPU or GPU to compile for: host (this machine), x86-64 (SSE2, "
             "4 f32 lanes), x86-64-v3 (AVX2+FMA, 8 lanes), x86-64-v4 "
             "(AVX-512, 16 lanes), aarch64 (NEON, 4 lanes; up to --emit=obj "
             "only); NVIDIA sm_80 or sm_90 (also sm_86, sm_89)"),
    cl::value_desc("cpu|sm_XX"), cl::init("host"), cl::cat(category));
cl::opt<Emit> emit(
    "emit", cl::desc("What to write"),
    cl::values(clEnumValN(Emit::MLIR, "mlir", "lowered MLIR (LLVM dialect)"),
               clEnumValN(Emit::LLVM, "llvm", "optimised LLVM IR"),
               clEnumValN(Emit::Asm, "asm", "assembly"),
               clEnumValN(Emit::Obj, "obj", "an object file"),
               clEnumValN(Emit::So, "so",
                          "a shared library plus C header and JSON manifest "
                          "(for sm_*: host code with the kernels embedded as "
                          "a fatbin)"),
               clEnumValN(Emit::Ptx, "ptx", "PTX of the kernels (sm_* only)"),
               clEnumValN(Emit::Cubin, "cubin",
                          "a cubin, through ptxas (sm_* only)"),
               clEnumValN(Emit::Fatbin, "fatbin",
                          "a fatbin: cubin plus PTX (sm_* only)")),
    cl::init(Emit::So), cl::cat(category));
cl::opt<std::string> tileOption(
    "tile",
    cl::desc("Default tile sizes for every clus op, as rows=R,cols=C (rows "
             "in [1, 8]: register-blocked rows; cols: streamed-axis tile, a "
             "multiple of the vector width). An op's own clus.lowering_config "
             "still wins"),
    cl::value_desc("rows=R,cols=C"), cl::init(""), cl::cat(category));
cl::opt<bool> printTileSpace(
    "print-tile-space",
    cl::desc("Print, as JSON, the legal tile sizes of every clus op whose "
             "kernel reads them (its \"knobs\") for --target, and exit "
             "(used by the tuner)"),
    cl::init(false), cl::cat(category));
cl::opt<std::string> tuningDb(
    "tuning-db",
    cl::desc("clusopt-tune's database: ops without a clus.lowering_config "
             "take their record's tile unless --tile or --no-tune is given "
             "(default: $CLUSOPT_TUNING_DB, else "
             "${XDG_CACHE_HOME:-~/.cache}/clusopt/tuning.sqlite; a missing "
             "default is no records, an empty value disables it)"),
    cl::value_desc("path"), cl::init(""), cl::cat(category));
cl::opt<bool> noTune("no-tune",
                     cl::desc("Ignore the tuning database (reproducible "
                              "builds: only clus.lowering_config, --tile "
                              "and defaults)"),
                     cl::init(false), cl::cat(category));

using clusopt::CpuTarget;

FailureOr<CpuTarget> resolveTarget(StringRef name) {
  llvm::Expected<CpuTarget> target = clusopt::resolveCpuTarget(name);
  if (!target) {
    errs() << "clusopt-compile: error: " << llvm::toString(target.takeError())
           << "\n";
    return failure();
  }
  return *target;
}

/// Applies --tile (rows=R,cols=C, either entry optional) to `options`.
LogicalResult parseTile(StringRef text, int64_t width,
                        clusopt::CpuPipelineOptions &options) {
  llvm::Expected<clusopt::TileConfig> tile =
      clusopt::parseTileFlag(text, width, {options.rows, options.cols});
  if (!tile) {
    errs() << "clusopt-compile: error: " << llvm::toString(tile.takeError())
           << "\n";
    return failure();
  }
  options.rows = tile->rows;
  options.cols = tile->cols;
  return success();
}

std::string locationString(Location loc) {
  std::string s;
  raw_string_ostream os(s);
  loc.print(os);
  return s;
}

json::Value tileSpaceJson(ModuleOp module, const CpuTarget &target,
                          const clusopt::CpuPipelineOptions &options) {
  json::Array ops;
  int64_t w = target.vectorWidth;
  module.walk([&](Operation *op) {
    clusopt::TileKnobs knobs = clusopt::tileKnobs(op);
    if (!knobs.any())
      return;
    // Scratch per parallel iteration is rows × cols f32 (probabilities or
    // scores); keep it within 16 KiB so it stays in L1 beside K/V rows.
    // Tiles past the padded extent only add masked lanes. A size the
    // kernel does not read stays at its default.
    std::optional<int64_t> extent = clusopt::streamedExtent(op);
    int64_t maxCols = clusopt::TileConfig::kMaxCols;
    if (extent)
      maxCols =
          std::max(w, std::min<int64_t>(maxCols, (*extent + w - 1) / w * w));
    // The tile the op gets without a lowering config of its own, as the
    // config pass resolves it: the op's own rows unless the options set
    // them, cols past the padded extent clamped.
    clusopt::TileConfig defaultTile = clusopt::clampTileToExtent(
        op,
        clusopt::opDefaultTile(
            op, {options.rows.getValue(), options.cols.getValue()}, w),
        w);
    int64_t rowsLo = knobs.rows ? 1 : defaultTile.rows;
    int64_t rowsHi =
        knobs.rows ? clusopt::TileConfig::kMaxRows : defaultTile.rows;
    int64_t colsLo = knobs.cols ? w : options.cols.getValue();
    int64_t colsHi = knobs.cols ? maxCols : options.cols.getValue();
    json::Array legal, knobNames;
    if (knobs.rows)
      knobNames.push_back("rows");
    if (knobs.cols)
      knobNames.push_back("cols");
    bool defaultListed = false;
    for (int64_t rows = rowsLo; rows <= rowsHi; ++rows)
      for (int64_t cols = colsLo; cols <= colsHi; cols += w)
        if (!knobs.cols || rows * cols * 4 <= 16 * 1024) {
          legal.push_back(json::Object{{"rows", rows}, {"cols", cols}});
          defaultListed |= rows == defaultTile.rows && cols == defaultTile.cols;
        }
    // A default past the scratch budget (from --tile) is still legal.
    if (!defaultListed)
      legal.push_back(
          json::Object{{"rows", defaultTile.rows}, {"cols", defaultTile.cols}});
    auto func = op->getParentOfType<func::FuncOp>();
    ops.push_back(json::Object{
        {"op", op->getName().getStringRef()},
        {"function", func ? func.getSymName().str() : std::string()},
        {"location", locationString(op->getLoc())},
        {"default",
         json::Object{{"rows", defaultTile.rows}, {"cols", defaultTile.cols}}},
        {"knobs", std::move(knobNames)},
        {"legal", std::move(legal)}});
  });
  return json::Object{
      {"target", target.name}, {"vector_width", w}, {"ops", std::move(ops)}};
}

std::string dtypeName(Type t) {
  if (t.isF32())
    return "f32";
  if (t.isF16())
    return "f16";
  if (t.isBF16())
    return "bf16";
  if (t.isInteger(32))
    return "i32";
  std::string s;
  raw_string_ostream os(s);
  t.print(os);
  return s;
}

std::string cType(Type t) {
  if (t.isF32())
    return "float";
  if (t.isF16() || t.isBF16())
    return "uint16_t"; // raw bits; see the header comment
  if (t.isInteger(32))
    return "int32_t";
  if (t.isInteger(64) || t.isIndex())
    return "int64_t";
  return "void";
}

json::Value shapeJson(ShapedType t) {
  json::Array dims;
  for (int64_t d : t.getShape())
    dims.push_back(ShapedType::isDynamic(d) ? json::Value(nullptr)
                                            : json::Value(d));
  return dims;
}

/// The memref descriptor struct for a tensor type, as the C interface of
/// the LLVM lowering lays it out.
std::string descriptorName(RankedTensorType t) {
  std::string name = "clusopt_memref_" + std::to_string(t.getRank()) + "d_" +
                     dtypeName(t.getElementType());
  // Other element types print as MLIR text: keep the name an identifier.
  for (char &c : name)
    if (!llvm::isAlnum(c))
      c = '_';
  return name;
}

/// Why `name` cannot appear in the C header (as _mlir_ciface_<name> and
/// <name>_results) or as a kernel symbol, if it cannot.
std::optional<std::string> cIdentifierProblem(StringRef name) {
  static const std::set<StringRef> keywords = {
      "alignas",      "alignof",  "auto",          "bool",      "break",
      "case",         "char",     "const",         "constexpr", "continue",
      "default",      "do",       "double",        "else",      "enum",
      "extern",       "false",    "float",         "for",       "goto",
      "if",           "inline",   "int",           "long",      "nullptr",
      "register",     "restrict", "return",        "short",     "signed",
      "sizeof",       "static",   "static_assert", "struct",    "switch",
      "thread_local", "true",     "typedef",       "typeof",    "typeof_unqual",
      "union",        "unsigned", "void",          "volatile",  "while"};
  if (name.empty() || llvm::isDigit(name.front()) ||
      !llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; }))
    return "is not a valid C identifier ([A-Za-z_][A-Za-z0-9_]*)";
  if (keywords.count(name))
    return "is a C keyword";
  if (name.starts_with("__") ||
      (name.size() > 1 && name[0] == '_' && llvm::isUpper(name[1])))
    return "is reserved in C (it starts with '__' or '_' and an uppercase "
           "letter)";
  return std::nullopt;
}

/// Function names go into the C header and the kernels' symbols verbatim,
/// so every one must be a plain C identifier.
LogicalResult checkFunctionNames(ModuleOp module) {
  bool ok = true;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (std::optional<std::string> problem =
            cIdentifierProblem(func.getSymName())) {
      std::string escaped;
      raw_string_ostream os(escaped);
      llvm::printEscapedString(func.getSymName(), os);
      emitError(func.getLoc())
          << "clusopt-compile: function name '" << escaped << "' " << *problem
          << "; it would go verbatim into the C header and "
             "symbol names";
      ok = false;
    }
  }
  return success(ok);
}

/// The tuning database clusopt-compile reads ("" for none), checked
/// before any work so a broken file fails naming it.
FailureOr<std::string> tuningDatabasePath() {
  bool explicitDb = tuningDb.getNumOccurrences() > 0;
  std::string path = explicitDb ? tuningDb : clusopt::defaultTuningDbPath();
  if (path.empty() || (!explicitDb && !sys::fs::exists(path)))
    return std::string();
  auto db = clusopt::TuningDatabase::open(
      path, clusopt::TuningDatabase::Mode::Lookup);
  if (!db) {
    errs() << "clusopt-compile: error: " << llvm::toString(db.takeError())
           << " (--no-tune compiles without the database)\n";
    return failure();
  }
  return path;
}

/// Runs clus-lowering-config, so every op with a kernel carries its tile:
/// its own config, else the database's record (when `dbPath` is set),
/// else the default tile in `options`.
LogicalResult attachLoweringConfigs(ModuleOp module, const CpuTarget &target,
                                    const clusopt::CpuPipelineOptions &options,
                                    StringRef dbPath) {
  clusopt::LoweringConfigOptions config;
  config.target = target.name;
  config.rows = options.rows;
  config.cols = options.cols;
  config.tuningDb = dbPath.str();
  PassManager pm(module.getContext());
  pm.addPass(clusopt::createLoweringConfig(config));
  return pm.run(module);
}

json::Value tuningRecordJson(DictionaryAttr record) {
  json::Object o;
  for (NamedAttribute a : record) {
    if (auto s = dyn_cast<StringAttr>(a.getValue()))
      o[a.getName().strref()] = s.str();
    else if (auto i = dyn_cast<IntegerAttr>(a.getValue()))
      o[a.getName().strref()] = i.getInt();
  }
  return o;
}

/// Entry points: public functions with a body, described before lowering.
struct EntryPoint {
  std::string name;
  SmallVector<RankedTensorType> args, results;
  json::Array ops;
  /// GPU only: the kernel launches, in program order.
  json::Array launches;
};

/// `pinned`: the ops that had a lowering config of their own in the input.
FailureOr<SmallVector<EntryPoint>>
collectEntryPoints(ModuleOp module, const clusopt::CpuPipelineOptions &options,
                   StringRef tileSource, bool gpu = false,
                   const llvm::DenseSet<Operation *> &pinned = {}) {
  SmallVector<EntryPoint> entries;
  bool invalid = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || func.isPrivate())
      continue;
    EntryPoint e;
    e.name = func.getSymName().str();
    for (auto [list, types] : {std::pair{&e.args, func.getArgumentTypes()},
                               std::pair{&e.results, func.getResultTypes()}}) {
      for (Type t : types) {
        auto tensor = dyn_cast<RankedTensorType>(t);
        if (!tensor) {
          func.emitError("clusopt-compile: entry points take and return "
                         "ranked tensors only, got ")
              << t;
          return failure();
        }
        list->push_back(tensor);
      }
    }
    func.walk([&](Operation *op) {
      if (!isa<clusopt::clus::ClusDialect>(op->getDialect()))
        return;
      json::Object info{{"op", op->getName().getStringRef()}};
      if (gpu) {
        // GPU kernels have fixed tiles (a warp owns 16 rows).
        auto sa = dyn_cast<clusopt::clus::SoftAssignOp>(op);
        if (sa && clusopt::hasGpuKernel(op))
          info["kernel"] = "fused into clus.pool";
        else if (clusopt::hasGpuKernel(op))
          info["kernel"] = "gpu";
        else
          info["kernel"] = "gpu-loops";
        e.ops.push_back(std::move(info));
        return;
      }
      auto softAssign = dyn_cast<clusopt::clus::SoftAssignOp>(op);
      if (softAssign && clusopt::isFusedIntoPools(softAssign)) {
        info["kernel"] = "fused into clus.pool";
      } else if (clusopt::hasVectorKernel(op)) {
        FailureOr<clusopt::TileConfig> tile = clusopt::resolveTileConfig(
            op, {options.rows, options.cols}, options.vectorWidth);
        if (failed(tile)) {
          invalid = true;
          return;
        }
        info["kernel"] = "vector";
        // Only a kernel that reads tile sizes reports them.
        if (clusopt::tileKnobs(op).any()) {
          info["tile"] =
              json::Object{{"rows", tile->rows}, {"cols", tile->cols}};
          if (auto record = op->getAttrOfType<DictionaryAttr>(
                  clusopt::kTuningRecordAttr)) {
            info["tile_source"] = "tuning-db";
            info["tuning_record"] = tuningRecordJson(record);
          } else {
            info["tile_source"] =
                pinned.contains(op) ? "attribute" : tileSource.str();
          }
        }
      } else {
        info["kernel"] = "reference";
      }
      e.ops.push_back(std::move(info));
    });
    if (invalid)
      return failure();
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string headerText(ArrayRef<EntryPoint> entries, StringRef guardStem,
                       bool gpu = false) {
  std::string s;
  raw_string_ostream os(s);
  std::string guard = "CLUSOPT_KERNELS_" + guardStem.upper() + "_H";
  for (char &c : guard)
    if (!llvm::isAlnum(c))
      c = '_';
  os << "// Generated by clusopt-compile. C interface of the kernels in the\n"
        "// matching shared library; see the JSON manifest for shapes.\n"
        "//\n"
        "// Every tensor is passed as a strided memref descriptor. f16/bf16\n"
        "// elements are raw 16-bit patterns. Results are returned through\n"
     << (gpu ? "// the first argument. GPU library: every pointer is device\n"
               "// memory; results are allocated by the kernel on the device\n"
               "// and owned by the caller (free `allocated` with\n"
               "// clusopt_gpu_free).\n"
             : "// the first argument; their buffers are malloc'ed by the "
               "kernel\n"
               "// and owned by the caller (free `allocated`).\n")
     << "//\n"
     << (gpu ? "// Loading: needs libclusopt_gpu_runtime.so (DT_NEEDED),\n"
               "// searched beside this library (RUNPATH $ORIGIN), then in\n"
               "// lib/ of the clusopt that compiled it (second RUNPATH\n"
               "// entry), then on LD_LIBRARY_PATH and the system path. The\n"
               "// runtime opens the CUDA driver (libcuda.so.1) itself. A\n"
               "// global constructor loads the kernels onto the GPU at\n"
               "// dlopen time; without a usable GPU that is recorded, not\n"
               "// fatal: check clusopt_gpu_available() and\n"
               "// clusopt_gpu_take_error() (GpuRuntime.h) before calling.\n"
             : "// Loading: needs libomp.so.5 (LLVM's OpenMP runtime; on the\n"
               "// system's library path on Debian), libm and libc. No\n"
               "// RUNPATH: the library can be moved anywhere.\n")
     << "#ifndef " << guard << "\n#define " << guard
     << "\n\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n"
        "#endif\n\n";
  std::set<std::string> declared;
  auto declare = [&](RankedTensorType t) {
    std::string name = descriptorName(t);
    if (!declared.insert(name).second)
      return;
    std::string elt = cType(t.getElementType());
    os << "typedef struct {\n  " << elt << " *allocated;\n  " << elt
       << " *aligned;\n  int64_t offset;\n";
    if (t.getRank() > 0)
      os << "  int64_t sizes[" << t.getRank() << "];\n  int64_t strides["
         << t.getRank() << "];\n";
    os << "} " << name << ";\n\n";
  };
  for (const EntryPoint &e : entries) {
    for (RankedTensorType t : e.args)
      declare(t);
    for (RankedTensorType t : e.results)
      declare(t);
  }
  for (const EntryPoint &e : entries) {
    SmallVector<std::string> params;
    if (e.results.size() == 1) {
      params.push_back(descriptorName(e.results[0]) + " *result");
    } else if (e.results.size() > 1) {
      os << "typedef struct {\n";
      for (auto [i, t] : llvm::enumerate(e.results))
        os << "  " << descriptorName(t) << " r" << i << ";\n";
      os << "} " << e.name << "_results;\n\n";
      params.push_back(e.name + "_results *results");
    }
    for (auto [i, t] : llvm::enumerate(e.args))
      params.push_back(descriptorName(t) + " *arg" + std::to_string(i));
    os << "void _mlir_ciface_" << e.name << "("
       << (params.empty() ? std::string("void") : llvm::join(params, ", "))
       << ");\n";
  }
  os << "\n#ifdef __cplusplus\n}\n#endif\n\n#endif // " << guard << "\n";
  return s;
}

LogicalResult reportError(llvm::Error err) {
  if (err)
    errs() << "clusopt-compile: error: " << llvm::toString(std::move(err))
           << "\n";
  return failure();
}

/// Writes `path` atomically (lib/Support/OutputFiles.h): a failed or
/// interrupted run leaves the previous file.
LogicalResult writeFile(StringRef path, StringRef contents) {
  if (llvm::Error err = clusopt::writeOutput(path, contents))
    return reportError(std::move(err));
  return success();
}

std::unique_ptr<TargetMachine> makeTargetMachine(const CpuTarget &t) {
  llvm::Expected<std::unique_ptr<TargetMachine>> machine =
      clusopt::createTargetMachine(t);
  if (!machine) {
    errs() << "clusopt-compile: error: " << llvm::toString(machine.takeError())
           << "\n";
    return nullptr;
  }
  return std::move(*machine);
}

/// The LLVM IR of `module` for `machine`, optimised at `optLevel`; null
/// after an error message.
std::unique_ptr<llvm::Module> toOptimizedLLVM(ModuleOp module,
                                              TargetMachine &machine,
                                              unsigned optLevel,
                                              llvm::LLVMContext &context) {
  llvm::Expected<std::unique_ptr<llvm::Module>> llvmModule =
      clusopt::translateToOptimizedLLVM(module, machine, optLevel, context);
  if (!llvmModule) {
    errs() << "clusopt-compile: error: "
           << llvm::toString(llvmModule.takeError()) << "\n";
    return nullptr;
  }
  return std::move(*llvmModule);
}

/// Writes `llvmModule` as assembly or an object file to `os`.
LogicalResult emitMachineCode(llvm::Module &llvmModule, TargetMachine &machine,
                              llvm::raw_pwrite_stream &os,
                              CodeGenFileType type) {
  if (llvm::Error err =
          clusopt::emitMachineCode(llvmModule, machine, os, type)) {
    errs() << "clusopt-compile: error: " << llvm::toString(std::move(err))
           << "\n";
    return failure();
  }
  return success();
}

/// Writes `llvmModule` as assembly or an object file to `path`, atomically.
LogicalResult emitMachineCode(llvm::Module &llvmModule, TargetMachine &machine,
                              StringRef path, CodeGenFileType type) {
  llvm::Expected<clusopt::PendingOutput> out =
      clusopt::PendingOutput::create(path);
  if (!out)
    return reportError(out.takeError());
  if (failed(emitMachineCode(llvmModule, machine, out->os(), type)))
    return failure();
  if (llvm::Error err = out->commit())
    return reportError(std::move(err));
  return success();
}

DialectRegistry makeRegistry() {
  DialectRegistry registry;
  clusopt::registerCompilerDialects(registry);
  return registry;
}

OwningOpRef<ModuleOp> parseInput(SourceMgr &sourceMgr, MLIRContext &context) {
  auto input = clusopt::readInputFile(inputFile, clusopt::kMlirInput,
                                      /*requiresNullTerminator=*/true,
                                      /*allowStdin=*/true);
  if (!input) {
    errs() << "clusopt-compile: error: " << toString(input.takeError()) << "\n";
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(*input), SMLoc());
  return parseSourceFile<ModuleOp>(sourceMgr, &context);
}

using clusopt::markArgumentsReadOnly;

/// The sidecars of --emit=so (and of a GPU binary's manifest): <stem>.h and
/// <stem>.json beside the output.
std::string sidecarPath(StringRef extension) {
  SmallString<128> path(outputFile);
  sys::path::replace_extension(path, extension);
  return path.str().str();
}

/// Before any work: every file this run writes can be written, and none is
/// another (`-o k.h` would be replaced by the header).
LogicalResult checkOutputs(bool header, bool manifest) {
  if (outputFile == "-")
    return success();
  std::vector<std::pair<std::string, std::string>> outputs = {
      {"-o", outputFile}};
  if (header)
    outputs.push_back({"the C header", sidecarPath("h")});
  if (manifest)
    outputs.push_back({"the JSON manifest", sidecarPath("json")});
  for (auto &[role, path] : outputs)
    if (llvm::Error err = clusopt::checkOutputPath(path))
      return reportError(std::move(err));
  if (llvm::Error err = clusopt::checkDistinctOutputs(outputs)) {
    errs() << "clusopt-compile: error: " << llvm::toString(std::move(err))
           << " (the header and manifest are written beside the output as "
              "<stem>.h and <stem>.json: give -o another extension)\n";
    return failure();
  }
  return success();
}

/// Links `objPath` into the shared library `libPath` (in the scratch
/// directory) with the system's clang, as Triton links with the host
/// compiler.
LogicalResult linkSharedLibrary(StringRef objPath, StringRef libPath,
                                ArrayRef<std::string> extraArgs) {
  std::string clang = CLUSOPT_LLVM_BIN_DIR "/clang";
  SmallVector<std::string> argStorage = {
      clang,         "-shared", "-fPIC",       "--rtlib=compiler-rt",
      objPath.str(), "-o",      libPath.str(), "-lm"};
  argStorage.append(extraArgs.begin(), extraArgs.end());
  SmallVector<StringRef> args(argStorage.begin(), argStorage.end());
  std::string linkError;
  int rc = clusopt::runProgram(clang, args, {}, &linkError);
  if (rc != 0) {
    errs() << "clusopt-compile: error: linking " << outputFile << " failed ("
           << rc << ") " << linkError << "\n";
    return failure();
  }
  return success();
}

/// A library of the clusopt this tool belongs to: lib/`name` beside its
/// bin/, in the build tree and in an installed clusopt alike
/// (cmake/Install.cmake). `what` says who needs it, for the error.
FailureOr<std::string> findOwnLibrary(StringRef name, StringRef what) {
  SmallString<256> exe;
  if (std::error_code ec = sys::fs::real_path("/proc/self/exe", exe)) {
    errs() << "clusopt-compile: error: cannot find its own executable to "
              "locate "
           << name << ": " << ec.message() << "\n";
    return failure();
  }
  SmallString<256> library =
      sys::path::parent_path(sys::path::parent_path(exe));
  sys::path::append(library, "lib", name);
  if (!sys::fs::exists(library)) {
    errs() << "clusopt-compile: error: " << what << " links against " << name
           << ", which is not at " << library << "\n";
    return failure();
  }
  return library.str().str();
}

/// libclusopt_gpu_runtime.so, which GPU kernel libraries link against.
FailureOr<std::string> findGpuRuntime() {
  return findOwnLibrary("libclusopt_gpu_runtime.so",
                        "a GPU --emit=so (build the clusopt_gpu_runtime "
                        "target)");
}

/// Emits `llvmModule` as an object and links it into a shared library, both
/// in a new private scratch directory (kept alive in `scratch`): the
/// library is then installed at -o atomically.
LogicalResult
buildSharedLibrary(llvm::Module &llvmModule, TargetMachine &machine,
                   ArrayRef<std::string> linkArgs,
                   std::unique_ptr<clusopt::ScratchDirectory> &scratch,
                   std::string &libPath) {
  auto created = clusopt::ScratchDirectory::create("clusopt-compile");
  if (!created)
    return reportError(created.takeError());
  scratch = std::move(*created);
  std::string objPath = scratch->file("kernels.o");
  libPath = scratch->file("kernels.so");
  if (failed(emitMachineCode(llvmModule, machine, objPath,
                             CodeGenFileType::ObjectFile)))
    return failure();
  return linkSharedLibrary(objPath, libPath, linkArgs);
}

/// The manifest's description of each entry point.
json::Array entryPointsJson(MutableArrayRef<EntryPoint> entries) {
  json::Array entryJson;
  for (EntryPoint &e : entries) {
    json::Array args, results;
    for (RankedTensorType t : e.args)
      args.push_back(json::Object{{"shape", shapeJson(t)},
                                  {"dtype", dtypeName(t.getElementType())}});
    for (RankedTensorType t : e.results)
      results.push_back(json::Object{{"shape", shapeJson(t)},
                                     {"dtype", dtypeName(t.getElementType())}});
    json::Object entry{{"name", e.name},
                       {"symbol", "_mlir_ciface_" + e.name},
                       {"arguments", std::move(args)},
                       {"results", std::move(results)},
                       {"ops", std::move(e.ops)}};
    if (!e.launches.empty())
      entry["launches"] = std::move(e.launches);
    entryJson.push_back(std::move(entry));
  }
  return entryJson;
}

std::string jsonText(json::Value value) {
  return llvm::formatv("{0:2}\n", value).str();
}

/// Writes the linked library `linked` to -o, and its manifest and header
/// beside it. All three are written in full before any replaces its path,
/// so a failure leaves the previous set.
LogicalResult installLibrary(StringRef linked, json::Value manifest,
                             StringRef header) {
  auto library = llvm::MemoryBuffer::getFile(linked, /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false);
  sys::fs::file_status status;
  if (!library || sys::fs::status(linked, status)) {
    errs() << "clusopt-compile: error: cannot read the linked library "
           << linked << "\n";
    return failure();
  }
  std::vector<clusopt::PendingOutput> outputs;
  for (auto [path, contents, mode] :
       {std::tuple<std::string, std::string, unsigned>{
            outputFile.getValue(), (*library)->getBuffer().str(),
            status.permissions()},
        {sidecarPath("json"), jsonText(std::move(manifest)),
         sys::fs::all_read | sys::fs::all_write},
        {sidecarPath("h"), header.str(),
         sys::fs::all_read | sys::fs::all_write}}) {
    auto out = clusopt::PendingOutput::create(path, mode);
    if (!out)
      return reportError(out.takeError());
    out->os() << contents;
    outputs.push_back(std::move(*out));
  }
  for (clusopt::PendingOutput &out : outputs)
    if (llvm::Error err = out.commit())
      return reportError(std::move(err));
  return success();
}

/// A launch dimension: its value when constant, else "dynamic".
json::Value launchDim(Value v) {
  APInt value;
  if (v && matchPattern(v, m_ConstantInt(&value)))
    return value.getSExtValue();
  return v ? json::Value("dynamic") : json::Value(0);
}

/// The launch configuration of every kernel launch in each entry point,
/// read from the gpu.launch_func ops before they are lowered.
void recordLaunches(ModuleOp module, MutableArrayRef<EntryPoint> entries) {
  for (EntryPoint &e : entries) {
    auto func = module.lookupSymbol<func::FuncOp>(e.name);
    if (!func)
      continue;
    func.walk([&](gpu::LaunchFuncOp launch) {
      gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
      gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
      json::Object info{
          {"kernel", launch.getKernelName().str()},
          {"grid", json::Array{launchDim(grid.x), launchDim(grid.y),
                               launchDim(grid.z)}},
          {"block", json::Array{launchDim(block.x), launchDim(block.y),
                                launchDim(block.z)}},
          {"dynamic_shared_memory_bytes",
           launchDim(launch.getDynamicSharedMemorySize())}};
      if (launch->getParentOfType<scf::ForOp>())
        info["in_loop"] = true;
      e.launches.push_back(std::move(info));
    });
  }
}

/// The GPU path: clus-gpu-kernels, then upstream's NVVM pipeline; writes the
/// device binary (PTX, cubin, fatbin) or a host shared library with the
/// fatbin embedded, and a manifest of entry points and launches.
int compileGpu() {
  std::string chip = targetName;
  if (!clusopt::isSupportedGpuChip(chip)) {
    errs() << "clusopt-compile: error: unsupported GPU target '" << chip
           << "'; expected sm_80, sm_86, sm_89 or sm_90\n";
    return 1;
  }
  if (emit == Emit::LLVM || emit == Emit::Asm || emit == Emit::Obj) {
    errs() << "clusopt-compile: error: --target=" << chip
           << " emits mlir, ptx, cubin, fatbin or so\n";
    return 1;
  }
  if (tileOption.getNumOccurrences() || printTileSpace) {
    errs() << "clusopt-compile: error: --tile and --print-tile-space are for "
              "CPU targets; the GPU kernels' tiles are fixed (16 rows per "
              "warp, 32 keys per tile)\n";
    return 1;
  }
  if ((emit == Emit::So || emit == Emit::Cubin || emit == Emit::Fatbin) &&
      outputFile == "-") {
    errs() << "clusopt-compile: error: binary output needs -o <path>\n";
    return 1;
  }
  if (failed(checkOutputs(/*header=*/emit == Emit::So,
                          /*manifest=*/emit != Emit::MLIR)))
    return 1;
  std::string gpuRuntime; // what a GPU library links against
  if (emit == Emit::So) {
    FailureOr<std::string> found = findGpuRuntime();
    if (failed(found))
      return 1;
    gpuRuntime = *found;
  }

  MLIRContext context(makeRegistry());
  context.loadAllAvailableDialects();
  SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseInput(sourceMgr, context);
  if (!module || failed(checkFunctionNames(*module)))
    return 1;
  clusopt::CpuPipelineOptions unused;
  FailureOr<SmallVector<EntryPoint>> entries =
      collectEntryPoints(*module, unused, "", /*gpu=*/true);
  if (failed(entries))
    return 1;
  markArgumentsReadOnly(*module);

  PassManager kernels(&context);
  clusopt::buildClusGpuKernelsPipeline(kernels);
  if (failed(kernels.run(*module)))
    return 1;
  recordLaunches(*module, *entries);
  if (emit == Emit::MLIR) {
    std::string text;
    raw_string_ostream os(text);
    module->print(os);
    return failed(writeFile(outputFile, text)) ? 1 : 0;
  }

  clusopt::GpuPipelineOptions gpuOptions;
  gpuOptions.chip = chip;
  gpuOptions.format = emit == Emit::Ptx     ? "isa"
                      : emit == Emit::Cubin ? "bin"
                                            : "fatbin";
  // Input whose kernels all fold away (a 0-sized dimension, or no clus op)
  // launches nothing; its device binary is then a valid, empty one.
  if (emit != Emit::So && module->getOps<gpu::GPUModuleOp>().empty()) {
    OpBuilder builder = OpBuilder::atBlockEnd(module->getBody());
    gpu::GPUModuleOp::create(builder, module->getLoc(), "kernels");
    (*module)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                       builder.getUnitAttr());
  }
  PassManager binary(&context);
  clusopt::buildGpuBinaryPipeline(binary, gpuOptions);
  if (failed(binary.run(*module)))
    return 1;

  SmallString<128> stem(sys::path::filename(outputFile));
  sys::path::replace_extension(stem, "");
  json::Object manifest{
      {"format", "clusopt-kernels/1"},
      {"target", json::Object{{"name", chip},
                              {"kind", "cuda"},
                              {"ptx_isa", "8.0"},
                              {"binary", gpuOptions.format.getValue()}}},
      {"runtime", "libclusopt_gpu_runtime.so (MLIR's mgpu* ABI on the "
                  "CUDA driver API, loaded with dlopen)"}};

  if (emit != Emit::So) {
    auto binaries = llvm::to_vector(module->getOps<gpu::BinaryOp>());
    if (binaries.size() != 1) {
      errs() << "clusopt-compile: error: internal: expected one device "
                "binary, got "
             << binaries.size() << "\n";
      return 1;
    }
    auto object = cast<gpu::ObjectAttr>(binaries.front().getObjects()[0]);
    if (outputFile == "-")
      return failed(writeFile(outputFile, object.getObject().getValue()));
    // The binary and its manifest: both written before either is renamed.
    manifest["binary"] = sys::path::filename(outputFile).str();
    manifest["entry_points"] = entryPointsJson(*entries);
    auto binaryOut = clusopt::PendingOutput::create(outputFile);
    if (!binaryOut)
      return failed(reportError(binaryOut.takeError()));
    binaryOut->os() << object.getObject().getValue();
    auto manifestOut = clusopt::PendingOutput::create(sidecarPath("json"));
    if (!manifestOut)
      return failed(reportError(manifestOut.takeError()));
    manifestOut->os() << jsonText(std::move(manifest));
    for (clusopt::PendingOutput *out : {&*binaryOut, &*manifestOut})
      if (llvm::Error err = out->commit())
        return failed(reportError(std::move(err)));
    return 0;
  }

  // Host code: the host CPU's target machine, then a shared library whose
  // mgpu* imports come from libclusopt_gpu_runtime.so at load time: a
  // DT_NEEDED on it (its soname), found beside the library or where this
  // clusopt keeps it (the header's comment says so).
  std::string runtimeDir = sys::path::parent_path(gpuRuntime).str();
  FailureOr<CpuTarget> host = resolveTarget("host");
  if (failed(host))
    return 1;
  std::unique_ptr<TargetMachine> machine = makeTargetMachine(*host);
  if (!machine)
    return 1;
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      toOptimizedLLVM(*module, *machine, 2, llvmContext);
  if (!llvmModule)
    return 1;
  std::unique_ptr<clusopt::ScratchDirectory> scratch;
  std::string libPath;
  if (failed(buildSharedLibrary(
          *llvmModule, *machine,
          {gpuRuntime, "-Wl,-rpath,$ORIGIN", "-Wl,-rpath," + runtimeDir},
          scratch, libPath)))
    return 1;
  manifest["library"] = sys::path::filename(outputFile).str();
  manifest["header"] = (stem + ".h").str();
  manifest["entry_points"] = entryPointsJson(*entries);
  return failed(installLibrary(libPath, std::move(manifest),
                               headerText(*entries, stem, /*gpu=*/true)));
}

int compile() {
  if (StringRef(targetName).starts_with("sm_"))
    return compileGpu();
  if (emit == Emit::Ptx || emit == Emit::Cubin || emit == Emit::Fatbin) {
    errs() << "clusopt-compile: error: --emit=ptx, cubin and fatbin need a "
              "GPU target (--target=sm_80 or sm_90)\n";
    return 1;
  }
  FailureOr<CpuTarget> target = resolveTarget(targetName);
  if (failed(target))
    return 1;
  clusopt::CpuPipelineOptions options;
  options.vectorWidth = target->vectorWidth;
  if (tileOption.getNumOccurrences() &&
      failed(parseTile(tileOption, target->vectorWidth, options)))
    return 1;
  if (emit == Emit::So && !target->runsHere) {
    errs() << "clusopt-compile: error: --emit=so links for this machine; "
              "use --emit=obj (or asm) for --target="
           << target->name << "\n";
    return 1;
  }
  bool library = emit == Emit::So && !printTileSpace;
  if (failed(checkOutputs(/*header=*/library, /*manifest=*/library)))
    return 1;

  // --mlir-timing: where the time goes (parse, each pass, LLVM, link).
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTiming = timing.getRootScope();
  MLIRContext context(makeRegistry());
  context.loadAllAvailableDialects();
  // Diagnostics point into the input by line. Printing the op too made
  // every remark (a linalg op left to loops) print and verify its whole
  // enclosing function: quadratic, seconds on an imported model.
  context.printOpOnDiagnostic(false);
  SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  TimingScope parseTiming = rootTiming.nest("Parser");
  OwningOpRef<ModuleOp> module = parseInput(sourceMgr, context);
  parseTiming.stop();
  if (!module || failed(checkFunctionNames(*module)))
    return 1;

  if (printTileSpace) {
    std::string text;
    raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", tileSpaceJson(*module, *target, options))
       << "\n";
    return failed(writeFile(outputFile, text)) ? 1 : 0;
  }

  // Precedence: the op's clus.lowering_config > --tile > tuning database >
  // default.
  bool tileGiven = tileOption.getNumOccurrences() > 0;
  std::string dbPath;
  if (!tileGiven && !noTune) {
    FailureOr<std::string> path = tuningDatabasePath();
    if (failed(path))
      return 1;
    dbPath = *path;
  }
  llvm::DenseSet<Operation *> pinned;
  module->walk([&](Operation *op) {
    if (clusopt::clus::getLoweringConfig(op))
      pinned.insert(op);
  });
  if (failed(attachLoweringConfigs(*module, *target, options, dbPath)))
    return 1;

  FailureOr<SmallVector<EntryPoint>> entries =
      collectEntryPoints(*module, options, tileGiven ? "--tile" : "default",
                         /*gpu=*/false, pinned);
  if (failed(entries))
    return 1;

  markArgumentsReadOnly(*module);

  PassManager pm(&context);
  clusopt::buildClusCpuToLLVMPipeline(pm, options);
  pm.enableTiming(rootTiming);
  if (failed(pm.run(*module)))
    return 1;
  if (emit == Emit::MLIR) {
    std::string text;
    raw_string_ostream os(text);
    module->print(os);
    return failed(writeFile(outputFile, text)) ? 1 : 0;
  }

  std::unique_ptr<TargetMachine> machine = makeTargetMachine(*target);
  if (!machine)
    return 1;
  llvm::LLVMContext llvmContext;
  TimingScope llvmTiming = rootTiming.nest("LLVM IR: translate, optimise");
  std::unique_ptr<llvm::Module> llvmModule =
      toOptimizedLLVM(*module, *machine, 3, llvmContext);
  llvmTiming.stop();
  if (!llvmModule)
    return 1;
  TimingScope codegenTiming = rootTiming.nest("Machine code, link");
  if (emit == Emit::LLVM) {
    std::string text;
    raw_string_ostream os(text);
    llvmModule->print(os, nullptr);
    return failed(writeFile(outputFile, text)) ? 1 : 0;
  }

  if (emit != Emit::So)
    return failed(emitMachineCode(*llvmModule, *machine, outputFile,
                                  emit == Emit::Asm
                                      ? CodeGenFileType::AssemblyFile
                                      : CodeGenFileType::ObjectFile));
  if (outputFile == "-") {
    errs() << "clusopt-compile: error: --emit=so needs -o <path>\n";
    return 1;
  }

  // Kernels need libomp (linked from the LLVM install, as the runtime is).
  // No RUNPATH: libomp.so.5 is on the loader's default path (Debian's
  // llvm-22/lib/libomp.so.5 is a link to it), so the library is relocatable.
  // The micro-kernels that generated GEMMs call (clus-linalg-to-ukernel)
  // come from the static libclusopt_ukernels.a, linked in with their
  // symbols hidden: no new dependency, and two kernel libraries in one
  // process each keep their own copy.
  FailureOr<std::string> ukernels =
      findOwnLibrary("libclusopt_ukernels.a",
                     "a CPU --emit=so (build the clusopt_ukernels target)");
  if (failed(ukernels))
    return 1;
  std::string libDir = CLUSOPT_LLVM_LIB_DIR;
  std::unique_ptr<clusopt::ScratchDirectory> scratch;
  std::string libPath;
  if (failed(buildSharedLibrary(*llvmModule, *machine,
                                {*ukernels,
                                 "-Wl,--exclude-libs,libclusopt_ukernels.a",
                                 "-L" + libDir, "-lomp"},
                                scratch, libPath)))
    return 1;

  SmallString<128> stem(sys::path::filename(outputFile));
  sys::path::replace_extension(stem, "");
  json::Object manifest{
      {"format", "clusopt-kernels/1"},
      {"library", sys::path::filename(outputFile).str()},
      {"header", (stem + ".h").str()},
      {"target", json::Object{{"name", target->name},
                              {"triple", target->triple},
                              {"cpu", target->cpu},
                              {"vector_width", target->vectorWidth}}},
      {"threading", "openmp"},
      // rows: null where each op takes its own (opDefaultTile).
      {"default_tile",
       json::Object{{"rows", options.rows == clusopt::kOpDefaultRows
                                 ? json::Value(nullptr)
                                 : json::Value(options.rows.getValue())},
                    {"cols", options.cols.getValue()}}},
      {"entry_points", entryPointsJson(*entries)}};
  return failed(
      installLibrary(libPath, std::move(manifest), headerText(*entries, stem)));
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  clusopt::initializeCompiler();
  registerDefaultTimingManagerCLOptions();
  if (!clusopt::parseCommandLine(
          argc, argv,
          "clusopt-compile: compile clus kernels for a CPU or an NVIDIA GPU\n\n"
          "Lowers every function of the input through the optimised CPU\n"
          "pipeline (clus-cpu-to-llvm: tiled, fused, vectorised kernels,\n"
          "threaded with OpenMP), or for --target=sm_* through the GPU "
          "pipeline\n"
          "(clus-gpu-to-nvvm: NVVM kernels, tensor cores for f16/bf16, PTX "
          "and\n"
          "cubin through ptxas), and writes the result.\n\n"
          "  clusopt-compile paca.mlir --target=x86-64-v4 --emit=so -o "
          "paca.so\n"
          "  clusopt-compile paca.mlir --target=aarch64 --emit=asm -o -\n"
          "  clusopt-compile paca.mlir --target=sm_90 --emit=ptx -o paca.ptx\n"
          "  clusopt-compile paca.mlir --target=sm_80 --emit=so -o paca.so\n"
          "  clusopt-compile paca.mlir --print-tile-space\n"
          "  clusopt-compile model.mlir -o model.so --mlir-timing  # time "
          "per phase\n",
          category))
    return 1;
  return compile();
}

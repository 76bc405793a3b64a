//===- clusopt-compile.cpp - clus kernels to CPU code -----------*- C++ -*-===//
//
// Compiles a module of clus ops (mixed with upstream ops) for one CPU
// target through the clus-cpu-to-llvm pipeline, and writes the lowered
// MLIR, LLVM IR, assembly, an object file, or a shared library with a C
// header and a JSON manifest of its entry points.
//
//===----------------------------------------------------------------------===//

#include "dialect/Clus/ClusDialect.h"
#include "dialect/Clus/ClusOps.h"
#include "lib/Conversion/ClusToGPU/ClusToGPU.h"
#include "lib/Conversion/ClusToVector/ClusToVector.h"
#include "lib/Conversion/Passes.h"
#include "lib/Pipelines/Pipelines.h"
#include "lib/Transforms/Passes.h"
#include "lib/Tuning/CpuTarget.h"
#include "lib/Tuning/TuningDatabase.h"
#include "tools/clusopt-compile/Codegen.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Matchers.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <set>

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
             "multiple of the vector width). A clus.tile attribute on an op "
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
    cl::desc("clusopt-tune's database: ops without clus.tile take their "
             "record's tile unless --tile or --no-tune is given (default: "
             "$CLUSOPT_TUNING_DB, else "
             "${XDG_CACHE_HOME:-~/.cache}/clusopt/tuning.sqlite; a missing "
             "default is no records, an empty value disables it)"),
    cl::value_desc("path"), cl::init(""), cl::cat(category));
cl::opt<bool> noTune("no-tune",
                     cl::desc("Ignore the tuning database (reproducible "
                              "builds: only clus.tile, --tile and defaults)"),
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

/// Parses --tile=rows=R,cols=C (either entry may be omitted).
LogicalResult parseTile(StringRef text, int64_t width,
                        clusopt::CpuPipelineOptions &options) {
  clusopt::TileConfig tile{options.rows, options.cols};
  SmallVector<StringRef> entries;
  text.split(entries, ',', -1, /*KeepEmpty=*/false);
  for (StringRef entry : entries) {
    auto [key, value] = entry.split('=');
    if ((key != "rows" && key != "cols") ||
        value.getAsInteger(10, key == "rows" ? tile.rows : tile.cols)) {
      errs() << "clusopt-compile: error: --tile: expected rows=R,cols=C with "
                "integer values, got '"
             << entry << "'\n";
      return failure();
    }
  }
  if (std::optional<std::string> problem = clusopt::tileProblem(tile, width)) {
    errs() << "clusopt-compile: error: --tile: " << *problem << "\n";
    return failure();
  }
  options.rows = tile.rows;
  options.cols = tile.cols;
  return success();
}

/// The extent of the axis `cols` tiles for an op, when static.
std::optional<int64_t> streamedExtent(Operation *op) {
  auto dimOf = [](Value v, unsigned d) -> std::optional<int64_t> {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.isDynamicDim(d))
      return std::nullopt;
    return t.getDimSize(d);
  };
  if (auto pool = dyn_cast<clusopt::clus::PoolOp>(op))
    return dimOf(pool.getZ(), 2);
  if (auto attn = dyn_cast<clusopt::clus::AttentionOp>(op)) {
    int64_t most = 0;
    for (Value k : attn.getKeys()) {
      std::optional<int64_t> m = dimOf(k, 2);
      if (!m)
        return std::nullopt;
      most = std::max(most, *m);
    }
    return most;
  }
  if (auto ca = dyn_cast<clusopt::clus::ClusterAttentionOp>(op))
    return dimOf(ca.getAk(), 2); // The summaries stream token tiles.
  return std::nullopt;
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
    std::optional<int64_t> extent = streamedExtent(op);
    int64_t maxCols = clusopt::TileConfig::kMaxCols;
    if (extent)
      maxCols =
          std::max(w, std::min<int64_t>(maxCols, (*extent + w - 1) / w * w));
    int64_t rowsLo = knobs.rows ? 1 : options.rows.getValue();
    int64_t rowsHi =
        knobs.rows ? clusopt::TileConfig::kMaxRows : options.rows.getValue();
    int64_t colsLo = knobs.cols ? w : options.cols.getValue();
    int64_t colsHi = knobs.cols ? maxCols : options.cols.getValue();
    json::Array legal, knobNames;
    if (knobs.rows)
      knobNames.push_back("rows");
    if (knobs.cols)
      knobNames.push_back("cols");
    for (int64_t rows = rowsLo; rows <= rowsHi; ++rows)
      for (int64_t cols = colsLo; cols <= colsHi; cols += w)
        if (!knobs.cols || rows * cols * 4 <= 16 * 1024)
          legal.push_back(json::Object{{"rows", rows}, {"cols", cols}});
    auto func = op->getParentOfType<func::FuncOp>();
    ops.push_back(json::Object{
        {"op", op->getName().getStringRef()},
        {"function", func ? func.getSymName().str() : std::string()},
        {"location", locationString(op->getLoc())},
        {"default", json::Object{{"rows", options.rows.getValue()},
                                 {"cols", options.cols.getValue()}}},
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
  return "clusopt_memref_" + std::to_string(t.getRank()) + "d_" +
         dtypeName(t.getElementType());
}

/// Gives every op with a kernel and no clus.tile of its own the tile of its
/// tuning record, if the database has one for this op, shape and target,
/// and marks it with clus.tuning_record for the manifest.
LogicalResult applyTuningRecords(ModuleOp module, const CpuTarget &target) {
  bool explicitDb = tuningDb.getNumOccurrences() > 0;
  std::string path = explicitDb ? tuningDb : clusopt::defaultTuningDbPath();
  if (path.empty() || (!explicitDb && !sys::fs::exists(path)))
    return success();
  auto db = clusopt::TuningDatabase::open(
      path, clusopt::TuningDatabase::Mode::Lookup);
  auto fail = [&](llvm::Error err) {
    errs() << "clusopt-compile: error: " << llvm::toString(std::move(err))
           << " (--no-tune compiles without the database)\n";
    return failure();
  };
  if (!db)
    return fail(db.takeError());
  Builder b(module.getContext());
  WalkResult walk = module.walk([&](Operation *op) {
    op->removeAttr(clusopt::kTuningRecordAttr);
    if (!clusopt::tileKnobs(op).any() || op->hasAttr("clus.tile"))
      return WalkResult::advance();
    auto record = (*db)->lookup(clusopt::tuningKey(op, target));
    if (!record) {
      (void)fail(record.takeError());
      return WalkResult::interrupt();
    }
    if (!*record)
      return WalkResult::advance();
    const clusopt::TuningRecord &r = **record;
    op->setAttr(
        "clus.tile",
        b.getDictionaryAttr(
            {b.getNamedAttr("rows", b.getI64IntegerAttr(r.tile.rows)),
             b.getNamedAttr("cols", b.getI64IntegerAttr(r.tile.cols))}));
    op->setAttr(clusopt::kTuningRecordAttr,
                b.getDictionaryAttr(
                    {b.getNamedAttr("db", b.getStringAttr(path)),
                     b.getNamedAttr("id", b.getI64IntegerAttr(r.id)),
                     b.getNamedAttr("key", b.getStringAttr(r.key.hash()))}));
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
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

FailureOr<SmallVector<EntryPoint>>
collectEntryPoints(ModuleOp module, const clusopt::CpuPipelineOptions &options,
                   StringRef tileSource, bool gpu = false) {
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
                op->hasAttr("clus.tile") ? "attribute" : tileSource.str();
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

LogicalResult writeFile(StringRef path, StringRef contents) {
  std::string error;
  auto file = openOutputFile(path, &error);
  if (!file) {
    errs() << "clusopt-compile: error: " << error << "\n";
    return failure();
  }
  file->os() << contents;
  file->keep();
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

/// Writes `llvmModule` as assembly or an object file to `path`.
LogicalResult emitMachineCode(llvm::Module &llvmModule, TargetMachine &machine,
                              StringRef path, CodeGenFileType type) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec,
                          type == CodeGenFileType::AssemblyFile
                              ? sys::fs::OF_Text
                              : sys::fs::OF_None);
  if (ec) {
    errs() << "clusopt-compile: error: cannot write " << path << ": "
           << ec.message() << "\n";
    return failure();
  }
  if (llvm::Error err =
          clusopt::emitMachineCode(llvmModule, machine, os, type)) {
    errs() << "clusopt-compile: error: " << llvm::toString(std::move(err))
           << "\n";
    return failure();
  }
  return success();
}

DialectRegistry makeRegistry() {
  DialectRegistry registry;
  clusopt::registerCompilerDialects(registry);
  return registry;
}

OwningOpRef<ModuleOp> parseInput(SourceMgr &sourceMgr, MLIRContext &context) {
  std::string error;
  auto input = openInputFile(inputFile, &error);
  if (!input) {
    errs() << "clusopt-compile: error: " << error << "\n";
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(input), SMLoc());
  return parseSourceFile<ModuleOp>(sourceMgr, &context);
}

using clusopt::markArgumentsReadOnly;

/// Links `objPath` into the shared library `outputFile` with the system's
/// clang (as Triton links with the host compiler), then removes it.
LogicalResult linkSharedLibrary(StringRef objPath,
                                ArrayRef<std::string> extraArgs) {
  std::string clang = CLUSOPT_LLVM_BIN_DIR "/clang";
  SmallVector<std::string> argStorage = {
      clang,         "-shared", "-fPIC",    "--rtlib=compiler-rt",
      objPath.str(), "-o",      outputFile, "-lm"};
  argStorage.append(extraArgs.begin(), extraArgs.end());
  SmallVector<StringRef> args(argStorage.begin(), argStorage.end());
  std::string linkError;
  int rc = sys::ExecuteAndWait(clang, args, std::nullopt, {}, 0, 0, &linkError);
  sys::fs::remove(objPath);
  if (rc != 0) {
    errs() << "clusopt-compile: error: linking " << outputFile << " failed ("
           << rc << ") " << linkError << "\n";
    return failure();
  }
  return success();
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

LogicalResult writeJson(StringRef path, json::Value value) {
  std::string text;
  raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", value) << "\n";
  return writeFile(path, text);
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
  if (!tileOption.empty() || printTileSpace) {
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

  MLIRContext context(makeRegistry());
  context.loadAllAvailableDialects();
  SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseInput(sourceMgr, context);
  if (!module)
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
  PassManager binary(&context);
  clusopt::buildGpuBinaryPipeline(binary, gpuOptions);
  if (failed(binary.run(*module)))
    return 1;

  SmallString<128> stem(outputFile);
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
      errs() << "clusopt-compile: error: expected one device binary, got "
             << binaries.size() << " (does the input have a clus op?)\n";
      return 1;
    }
    auto object = cast<gpu::ObjectAttr>(binaries.front().getObjects()[0]);
    if (failed(writeFile(outputFile, object.getObject().getValue())))
      return 1;
    if (outputFile == "-")
      return 0;
    manifest["binary"] = sys::path::filename(outputFile).str();
    manifest["entry_points"] = entryPointsJson(*entries);
    return failed(writeJson((stem + ".json").str(), std::move(manifest))) ? 1
                                                                          : 0;
  }

  // Host code: the host CPU's target machine, then a shared library whose
  // mgpu* imports come from libclusopt_gpu_runtime.so at load time.
  FailureOr<CpuTarget> host = resolveTarget("host");
  if (failed(host))
    return 1;
  std::unique_ptr<TargetMachine> machine = makeTargetMachine(*host);
  if (!machine)
    return 1;
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      toOptimizedLLVM(*module, *machine, 2, llvmContext);
  std::string objPath = outputFile + ".o";
  if (!llvmModule || failed(emitMachineCode(*llvmModule, *machine, objPath,
                                            CodeGenFileType::ObjectFile)))
    return 1;
  if (failed(linkSharedLibrary(objPath, {})))
    return 1;
  manifest["library"] = sys::path::filename(outputFile).str();
  manifest["header"] = (sys::path::filename(stem) + ".h").str();
  manifest["entry_points"] = entryPointsJson(*entries);
  if (failed(writeJson((stem + ".json").str(), std::move(manifest))) ||
      failed(writeFile((stem + ".h").str(),
                       headerText(*entries, sys::path::filename(stem),
                                  /*gpu=*/true))))
    return 1;
  return 0;
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
  if (failed(parseTile(tileOption, target->vectorWidth, options)))
    return 1;
  if (emit == Emit::So && !target->runsHere) {
    errs() << "clusopt-compile: error: --emit=so links for this machine; "
              "use --emit=obj (or asm) for --target="
           << target->name << "\n";
    return 1;
  }

  MLIRContext context(makeRegistry());
  context.loadAllAvailableDialects();
  SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseInput(sourceMgr, context);
  if (!module)
    return 1;

  if (printTileSpace) {
    std::string text;
    raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", tileSpaceJson(*module, *target, options))
       << "\n";
    return failed(writeFile(outputFile, text)) ? 1 : 0;
  }

  // Precedence: clus.tile attribute > --tile > tuning database > default.
  if (tileOption.empty() && !noTune &&
      failed(applyTuningRecords(*module, *target)))
    return 1;

  FailureOr<SmallVector<EntryPoint>> entries = collectEntryPoints(
      *module, options, tileOption.empty() ? "default" : "--tile");
  if (failed(entries))
    return 1;

  markArgumentsReadOnly(*module);

  PassManager pm(&context);
  clusopt::buildClusCpuToLLVMPipeline(pm, options);
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
  std::unique_ptr<llvm::Module> llvmModule =
      toOptimizedLLVM(*module, *machine, 3, llvmContext);
  if (!llvmModule)
    return 1;
  if (emit == Emit::LLVM) {
    std::string text;
    raw_string_ostream os(text);
    llvmModule->print(os, nullptr);
    return failed(writeFile(outputFile, text)) ? 1 : 0;
  }

  // Object code goes to the output, or to a temporary for --emit=so.
  SmallString<128> objPath(outputFile);
  if (emit == Emit::So) {
    if (outputFile == "-") {
      errs() << "clusopt-compile: error: --emit=so needs -o <path>\n";
      return 1;
    }
    objPath += ".o";
  }
  if (failed(emitMachineCode(*llvmModule, *machine, objPath,
                             emit == Emit::Asm ? CodeGenFileType::AssemblyFile
                                               : CodeGenFileType::ObjectFile)))
    return 1;
  if (emit != Emit::So)
    return 0;

  // Kernels need libomp, found through an rpath.
  std::string libDir = CLUSOPT_LLVM_LIB_DIR;
  if (failed(linkSharedLibrary(
          objPath, {"-L" + libDir, "-lomp", "-Wl,-rpath," + libDir})))
    return 1;

  SmallString<128> stem(outputFile);
  sys::path::replace_extension(stem, "");
  json::Object manifest{
      {"format", "clusopt-kernels/1"},
      {"library", sys::path::filename(outputFile).str()},
      {"header", (sys::path::filename(stem) + ".h").str()},
      {"target", json::Object{{"name", target->name},
                              {"triple", target->triple},
                              {"cpu", target->cpu},
                              {"vector_width", target->vectorWidth}}},
      {"threading", "openmp"},
      {"default_tile", json::Object{{"rows", options.rows.getValue()},
                                    {"cols", options.cols.getValue()}}},
      {"entry_points", entryPointsJson(*entries)}};
  std::string manifestText;
  raw_string_ostream ms(manifestText);
  ms << llvm::formatv("{0:2}", json::Value(std::move(manifest))) << "\n";
  if (failed(writeFile((stem + ".json").str(), manifestText)) ||
      failed(writeFile((stem + ".h").str(),
                       headerText(*entries, sys::path::filename(stem)))))
    return 1;
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  // The pipeline is textual, so every pass it names must be registered.
  registerAllPasses();
  clusopt::registerConversionPasses();
  clusopt::registerTransformsPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "clusopt-compile: compile clus kernels for a CPU or an NVIDIA GPU\n\n"
      "Lowers every function of the input through the optimised CPU\n"
      "pipeline (clus-cpu-to-llvm: tiled, fused, vectorised kernels,\n"
      "threaded with OpenMP), or for --target=sm_* through the GPU pipeline\n"
      "(clus-gpu-to-nvvm: NVVM kernels, tensor cores for f16/bf16, PTX and\n"
      "cubin through ptxas), and writes the result.\n\n"
      "  clusopt-compile paca.mlir --target=x86-64-v4 --emit=so -o paca.so\n"
      "  clusopt-compile paca.mlir --target=aarch64 --emit=asm -o -\n"
      "  clusopt-compile paca.mlir --target=sm_90 --emit=ptx -o paca.ptx\n"
      "  clusopt-compile paca.mlir --target=sm_80 --emit=so -o paca.so\n"
      "  clusopt-compile paca.mlir --print-tile-space\n");
  return compile();
}

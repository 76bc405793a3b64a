//===- LoweringConfig.cpp - attach each op's tile sizes -------------------===//
//
// clus-lowering-config: every clus op whose kernel reads tile sizes gets a
// complete #clus.lowering_config, from its own config, the tuning database
// or the pass options, so the lowering, the manifest and the tuner all read
// the tile from the op.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Transforms/Passes.h"

#include "clusopt/Conversion/ClusToVector.h"
#include "clusopt/Dialect/Clus/LoweringConfig.h"
#include "clusopt/Tuning/CpuTarget.h"
#include "clusopt/Tuning/TuningDatabase.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FormatVariadic.h"

namespace clusopt {
#define GEN_PASS_DEF_LOWERINGCONFIG
#include "clusopt/Transforms/Passes.h.inc"
} // namespace clusopt

using namespace mlir;
using namespace clusopt;

namespace {

struct LoweringConfigPass
    : clusopt::impl::LoweringConfigBase<LoweringConfigPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<CpuTarget> cpu;
    int64_t width = vectorWidth;
    if (!target.empty()) {
      llvm::Expected<CpuTarget> resolved = resolveCpuTarget(target);
      if (!resolved) {
        module.emitError(llvm::toString(resolved.takeError()));
        return signalPassFailure();
      }
      cpu = *resolved;
      width = cpu->vectorWidth;
    }
    if (width != 4 && width != 8 && width != 16) {
      module.emitError("vector-width must be 4, 8 or 16 f32 lanes, got ")
          << width;
      return signalPassFailure();
    }
    TileConfig defaults{rows, cols};
    if (std::optional<std::string> problem =
            defaultTileProblem(defaults, width)) {
      module.emitError("invalid default tile: ") << *problem;
      return signalPassFailure();
    }
    std::unique_ptr<TuningDatabase> db;
    if (!tuningDb.empty()) {
      if (!cpu) {
        module.emitError("tuning-db needs a target: the records' keys name "
                         "one");
        return signalPassFailure();
      }
      auto opened =
          TuningDatabase::open(tuningDb, TuningDatabase::Mode::Lookup);
      if (!opened) {
        module.emitError(llvm::toString(opened.takeError()));
        return signalPassFailure();
      }
      db = std::move(*opened);
    }

    Builder b(module.getContext());
    WalkResult walk = module.walk([&](Operation *op) {
      op->removeAttr(kTuningRecordAttr);
      if (!tileKnobs(op).any())
        return WalkResult::advance();
      TileConfig tile = defaults;
      if (db && !clus::getLoweringConfig(op)) {
        FailureOr<std::optional<TuningRecord>> record = lookup(op, *db, *cpu);
        if (failed(record))
          return WalkResult::interrupt();
        if (const std::optional<TuningRecord> &r = *record) {
          tile = r->tile;
          // Where the tile came from, for clusopt-compile's manifest.
          NamedAttribute source[] = {
              b.getNamedAttr("db", b.getStringAttr(db->path())),
              b.getNamedAttr("id", b.getI64IntegerAttr(r->id)),
              b.getNamedAttr("key", b.getStringAttr(r->key.hash()))};
          op->setAttr(kTuningRecordAttr, b.getDictionaryAttr(source));
        }
      }
      FailureOr<TileConfig> resolved = resolveTileConfig(op, tile, width);
      if (failed(resolved))
        return WalkResult::interrupt();
      clus::setLoweringConfig(op, loweringConfigFor(op, *resolved));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }

  /// The database's record for `op`, checked against the target.
  FailureOr<std::optional<TuningRecord>>
  lookup(Operation *op, TuningDatabase &db, const CpuTarget &cpu) {
    auto record = db.lookup(tuningKey(op, cpu));
    if (!record) {
      op->emitError(llvm::toString(record.takeError()));
      return failure();
    }
    if (!*record)
      return std::optional<TuningRecord>();
    const TuningRecord &r = **record;
    // The key holds the target, so a tile illegal for it is a bad row.
    if (std::optional<std::string> problem =
            tileProblem(r.tile, cpu.vectorWidth)) {
      op->emitError(llvm::formatv(
          "tuning database {0}: record {1} ({2}, key {3}): tile "
          "rows={4},cols={5} is not legal for --target={6}: {7}; remove the "
          "record",
          db.path(), r.id, r.key.op, r.key.hash().substr(0, 12), r.tile.rows,
          r.tile.cols, cpu.name, *problem));
      return failure();
    }
    return *record;
  }
};

} // namespace

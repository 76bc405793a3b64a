//===- TuningDatabase.h - persistent tile-size records ----------*- C++ -*-===//
//
// The tuning key of an op and the SQLite database clusopt-tune writes and
// clusopt-compile reads. Both tools compute keys here, so they agree
// exactly on what a record applies to.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_TUNING_TUNINGDATABASE_H
#define CLUSOPT_TUNING_TUNINGDATABASE_H

#include "clusopt/Conversion/ClusToVector.h"
#include "clusopt/Tuning/CpuTarget.h"

#include "mlir/IR/Operation.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace clusopt {

/// Project sources hash plus LLVM version (see CompilerVersion.cmake):
/// stable across rebuilds of one tree, different after any code generator
/// change.
llvm::StringRef compilerVersion();

/// What a tuning record applies to. Locations, SSA names and the op's own
/// `clus.tile`/`clus.tuning_record` attributes are not part of it.
struct TuningKey {
  std::string op;        // e.g. clus.attention
  std::string signature; // attributes, operand and result types, variant
  std::string dtype;     // element type of the first operand
  std::string triple, cpu, features; // features sorted
  std::string compiler;

  llvm::json::Value toJson() const;
  static llvm::Expected<TuningKey> fromJson(const llvm::json::Value &value);
  /// The canonical text (sorted JSON) and its SHA-256 in hex.
  std::string text() const;
  std::string hash() const;
  bool operator==(const TuningKey &other) const {
    return text() == other.text();
  }
};

TuningKey tuningKey(mlir::Operation *op, const CpuTarget &target);

/// Set by clusopt-compile on ops whose tile came from the database.
constexpr llvm::StringLiteral kTuningRecordAttr = "clus.tuning_record";

struct TuningMeasurement {
  TileConfig tile;
  std::string phase; // screen, full or paired
  double medianNs = 0, spreadNs = 0;
  int64_t samples = 0;
};

/// One tuning run of one op: the pick and every measurement behind it.
struct TuningRecord {
  int64_t id = 0;  // row id in the database it was read from
  std::string uid; // random; import skips records already present
  TuningKey key;
  TileConfig tile, defaultTile;
  double medianNs = 0, defaultMedianNs = 0;
  double speedup = 1; // default over pick, from paired timings
  int64_t measured = 0, pruned = 0;
  double elapsedS = 0;
  std::string created; // UTC, ISO 8601
  std::vector<TuningMeasurement> measurements;

  llvm::json::Value toJson(bool withMeasurements) const;
  static llvm::Expected<TuningRecord> fromJson(const llvm::json::Value &value);
};

/// $CLUSOPT_TUNING_DB, else ${XDG_CACHE_HOME:-~/.cache}/clusopt/tuning.sqlite.
std::string defaultTuningDbPath();

class TuningDatabase {
public:
  /// Lookup opens an existing file read-only and never writes; Update
  /// creates the file (and its directory) when missing, and checks that it
  /// can take the write lock. Either fails, naming the path, on a file that
  /// is not SQLite, belongs to another application, has a newer or damaged
  /// schema, fails PRAGMA integrity_check, is read-only (Update), or stays
  /// locked past the busy timeout ($CLUSOPT_TUNING_DB_TIMEOUT_MS, default
  /// 10000); the file is left as is. Reading a record whose columns are
  /// NULL, of the wrong type or out of range fails naming the record.
  enum class Mode { Lookup, Update };
  static llvm::Expected<std::unique_ptr<TuningDatabase>>
  open(llvm::StringRef path, Mode mode);
  ~TuningDatabase();

  const std::string &path() const { return dbPath; }

  /// The newest record for `key`, only if its target and compiler match.
  llvm::Expected<std::optional<TuningRecord>> lookup(const TuningKey &key);
  /// Inserts the record and its measurements in one transaction and sets
  /// `record.id`. Returns false when a record with its uid already exists.
  llvm::Expected<bool> insert(TuningRecord &record);
  llvm::Expected<std::vector<TuningRecord>> all(bool withMeasurements);

private:
  TuningDatabase(sqlite3 *db, std::string path) : db(db), dbPath(path) {}
  llvm::Error validate(Mode mode);
  llvm::Error error(const llvm::Twine &what) const;
  llvm::Error exec(llvm::StringRef sql);
  llvm::Expected<std::vector<TuningRecord>>
  select(llvm::StringRef where, const TuningKey *key, bool withMeasurements);

  sqlite3 *db;
  std::string dbPath;
  bool initialized = false; // false: an empty file opened for lookup
  int timeoutMs = 0;        // busy timeout, for messages
};

} // namespace clusopt

#endif // CLUSOPT_TUNING_TUNINGDATABASE_H

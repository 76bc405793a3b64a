//===- TuningDatabase.cpp - persistent tile-size records ------------------===//

#include "clusopt/Tuning/TuningDatabase.h"

#include "clusopt/Dialect/Clus/ClusOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"

#include <sqlite3.h>

#include <array>
#include <cmath>
#include <ctime>
#include <random>

#include "lib/Tuning/CompilerVersion.inc"

using namespace mlir;
using namespace clusopt;
namespace json = llvm::json;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace {

// 'CLUS': PRAGMA application_id tells our files from other SQLite files.
constexpr int32_t kApplicationId = 0x434c5553;
constexpr int kSchemaVersion = 1;

constexpr const char *kSchema = R"sql(
CREATE TABLE records (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  key TEXT NOT NULL,
  key_json TEXT NOT NULL,
  op TEXT NOT NULL,
  triple TEXT NOT NULL,
  cpu TEXT NOT NULL,
  features TEXT NOT NULL,
  compiler TEXT NOT NULL,
  rows INTEGER NOT NULL,
  cols INTEGER NOT NULL,
  median_ns REAL NOT NULL,
  default_rows INTEGER NOT NULL,
  default_cols INTEGER NOT NULL,
  default_median_ns REAL NOT NULL,
  speedup REAL NOT NULL,
  measured INTEGER NOT NULL,
  pruned INTEGER NOT NULL,
  elapsed_s REAL NOT NULL,
  created TEXT NOT NULL
);
CREATE INDEX records_by_key ON records (key);
CREATE TABLE measurements (
  id INTEGER PRIMARY KEY,
  record_id INTEGER NOT NULL REFERENCES records (id) ON DELETE CASCADE,
  rows INTEGER NOT NULL,
  cols INTEGER NOT NULL,
  phase TEXT NOT NULL,
  median_ns REAL NOT NULL,
  spread_ns REAL NOT NULL,
  samples INTEGER NOT NULL
);
CREATE INDEX measurements_by_record ON measurements (record_id);
)sql";

constexpr const char *kRecordColumns =
    "id, uid, key_json, rows, cols, median_ns, default_rows, default_cols, "
    "default_median_ns, speedup, measured, pruned, elapsed_s, created";
constexpr const char *kMeasurementColumns =
    "record_id, rows, cols, phase, median_ns, spread_ns, samples";

/// A prepared statement, finalized on scope exit.
class Statement {
public:
  Statement(sqlite3 *db, StringRef sql) {
    rc = sqlite3_prepare_v2(db, sql.data(), sql.size(), &stmt, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt); }
  bool ok() const { return rc == SQLITE_OK; }
  void bind(int i, StringRef text) {
    sqlite3_bind_text(stmt, i, text.data(), text.size(), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt, i, v); }
  void bind(int i, double v) { sqlite3_bind_double(stmt, i, v); }
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt); }
  int64_t integer(int c) { return sqlite3_column_int64(stmt, c); }
  /// SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL.
  int type(int c) { return sqlite3_column_type(stmt, c); }
  StringRef name(int c) { return sqlite3_column_name(stmt, c); }
  double real(int c) { return sqlite3_column_double(stmt, c); }
  std::string text(int c) {
    auto *p = reinterpret_cast<const char *>(sqlite3_column_text(stmt, c));
    return p ? std::string(p) : std::string();
  }

private:
  sqlite3_stmt *stmt = nullptr;
  int rc;
};

std::string sortedFeatures(StringRef features) {
  SmallVector<StringRef> list;
  features.split(list, ',', -1, /*KeepEmpty=*/false);
  llvm::sort(list);
  return llvm::join(list, ",");
}

std::string nowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string randomUid() {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 4; ++i)
    s += llvm::formatv("{0:x-8}", static_cast<uint32_t>(rd())).str();
  return s;
}

json::Value tileJson(const TileConfig &t) {
  return json::Object{{"rows", t.rows}, {"cols", t.cols}};
}

Expected<TileConfig> tileFromJson(const json::Value *v, StringRef what) {
  const json::Object *o = v ? v->getAsObject() : nullptr;
  std::optional<int64_t> rows = o ? o->getInteger("rows") : std::nullopt;
  std::optional<int64_t> cols = o ? o->getInteger("cols") : std::nullopt;
  if (!rows || !cols)
    return llvm::createStringError(what + " needs integer rows and cols");
  return TileConfig{*rows, *cols};
}

/// Column `c` of the current row as an integer, a number or text; an error
/// says what is there instead (NULL, or a value of another type), so a
/// damaged row is never read as 0 or "".
Error columnError(Statement &s, int c, StringRef expected) {
  int type = s.type(c);
  if (type == SQLITE_NULL)
    return llvm::createStringError(s.name(c) + " is NULL");
  StringRef typeName = type == SQLITE_INTEGER ? "an integer"
                       : type == SQLITE_FLOAT ? "a real"
                       : type == SQLITE_TEXT  ? "text"
                                              : "a blob";
  std::string value =
      type == SQLITE_BLOB ? std::string() : " '" + s.text(c) + "'";
  if (value.size() > 40)
    value = value.substr(0, 36) + "...'";
  return llvm::createStringError(s.name(c) + " is " + typeName + value +
                                 ", expected " + expected);
}
Expected<int64_t> integerColumn(Statement &s, int c) {
  if (s.type(c) != SQLITE_INTEGER)
    return columnError(s, c, "an integer");
  return s.integer(c);
}
Expected<double> numberColumn(Statement &s, int c) {
  if (s.type(c) != SQLITE_INTEGER && s.type(c) != SQLITE_FLOAT)
    return columnError(s, c, "a number");
  return s.real(c);
}
Expected<std::string> textColumn(Statement &s, int c) {
  if (s.type(c) != SQLITE_TEXT)
    return columnError(s, c, "text");
  return s.text(c);
}

std::string tileText(const TileConfig &t) {
  return llvm::formatv("rows={0},cols={1}", t.rows, t.cols).str();
}

/// What makes a record unusable, whether read from a database or a JSON
/// export: tiles out of range, times that are negative or not finite.
std::optional<std::string> recordProblem(const TuningRecord &r) {
  auto tile = [](StringRef what,
                 const TileConfig &t) -> std::optional<std::string> {
    // The target's vector width is checked where the tile is used.
    if (std::optional<std::string> problem = tileProblem(t, 1))
      return (what + " " + tileText(t) + ": " + *problem).str();
    return std::nullopt;
  };
  auto time = [](StringRef what, double v) -> std::optional<std::string> {
    if (!std::isfinite(v) || v < 0)
      return llvm::formatv("{0} must be a finite number >= 0, got {1}", what, v)
          .str();
    return std::nullopt;
  };
  if (auto p = tile("tile", r.tile))
    return p;
  if (auto p = tile("default_tile", r.defaultTile))
    return p;
  for (auto [what, v] : {std::pair<StringRef, double>{"median_ns", r.medianNs},
                         {"default_median_ns", r.defaultMedianNs},
                         {"elapsed_s", r.elapsedS}})
    if (auto p = time(what, v))
      return p;
  if (!std::isfinite(r.speedup) || r.speedup <= 0)
    return llvm::formatv("speedup must be a finite number > 0, got {0}",
                         r.speedup)
        .str();
  if (r.measured < 0 || r.pruned < 0)
    return llvm::formatv("measured and pruned must be >= 0, got {0} and {1}",
                         r.measured, r.pruned)
        .str();
  for (auto [i, m] : llvm::enumerate(r.measurements)) {
    std::string what = llvm::formatv("measurement {0}", i).str();
    if (auto p = tile(what + " tile", m.tile))
      return p;
    if (auto p = time(what + " median_ns", m.medianNs))
      return p;
    if (auto p = time(what + " spread_ns", m.spreadNs))
      return p;
    if (m.samples < 0)
      return what + " samples must be >= 0";
  }
  return std::nullopt;
}

/// An SQLite URI that opens `path` read-only as immutable: no locks and
/// no -shm file, for a WAL database in a directory this process cannot
/// write.
std::string immutableUri(StringRef path) {
  SmallString<128> absolute(path);
  llvm::sys::fs::make_absolute(absolute);
  std::string uri = "file:";
  for (char c : absolute) {
    if (llvm::isAlnum(c) || StringRef("/-_.~").contains(c))
      uri += c;
    else
      uri += llvm::formatv("%{0:X-2}", static_cast<unsigned char>(c)).str();
  }
  return uri + "?immutable=1";
}

/// Whether `path` is an SQLite file in WAL mode (header bytes 18 and 19).
bool isWalFile(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFileSlice(path, 20, 0);
  return buffer && (*buffer)->getBufferSize() == 20 &&
         (*buffer)->getBuffer()[18] == 2 && (*buffer)->getBuffer()[19] == 2;
}

} // namespace

StringRef clusopt::compilerVersion() { return CLUSOPT_COMPILER_VERSION; }

//===----------------------------------------------------------------------===//
// Keys
//===----------------------------------------------------------------------===//

TuningKey clusopt::tuningKey(Operation *op, const CpuTarget &target) {
  TuningKey key;
  key.op = op->getName().getStringRef().str();
  SmallVector<NamedAttribute> attrs;
  for (NamedAttribute a : op->getAttrs())
    if (a.getName() != "clus.tile" && a.getName() != kTuningRecordAttr)
      attrs.push_back(a);
  llvm::raw_string_ostream os(key.signature);
  os << key.op << " " << DictionaryAttr::get(op->getContext(), attrs) << " : (";
  llvm::interleaveComma(op->getOperandTypes(), os);
  os << ") -> (";
  llvm::interleaveComma(op->getResultTypes(), os);
  os << ")";
  // A pool that absorbs its soft_assign is a different kernel.
  if (auto pool = dyn_cast<clus::PoolOp>(op))
    if (auto producer = pool.getZ().getDefiningOp<clus::SoftAssignOp>())
      if (fusesIntoPool(producer))
        os << " fused(clus.soft_assign)";
  if (op->getNumOperands()) {
    Type t = op->getOperand(0).getType();
    if (auto shaped = dyn_cast<ShapedType>(t))
      t = shaped.getElementType();
    llvm::raw_string_ostream(key.dtype) << t;
  }
  key.triple = target.triple;
  key.cpu = target.cpu;
  key.features = sortedFeatures(target.features);
  key.compiler = compilerVersion().str();
  return key;
}

json::Value TuningKey::toJson() const {
  return json::Object{
      {"op", op},
      {"signature", signature},
      {"dtype", dtype},
      {"target",
       json::Object{{"triple", triple}, {"cpu", cpu}, {"features", features}}},
      {"compiler", compiler}};
}

Expected<TuningKey> TuningKey::fromJson(const json::Value &value) {
  const json::Object *o = value.getAsObject();
  const json::Object *t = o ? o->getObject("target") : nullptr;
  TuningKey key;
  auto get = [](const json::Object *obj, StringRef name, std::string &out) {
    std::optional<StringRef> s = obj ? obj->getString(name) : std::nullopt;
    if (s)
      out = s->str();
    return s.has_value();
  };
  if (!get(o, "op", key.op) || !get(o, "signature", key.signature) ||
      !get(o, "dtype", key.dtype) || !get(o, "compiler", key.compiler) ||
      !get(t, "triple", key.triple) || !get(t, "cpu", key.cpu) ||
      !get(t, "features", key.features))
    return llvm::createStringError(
        "a key needs op, signature, dtype, compiler and target.{triple, cpu, "
        "features} strings");
  key.features = sortedFeatures(key.features);
  return key;
}

std::string TuningKey::text() const {
  return llvm::formatv("{0}", toJson()).str();
}

std::string TuningKey::hash() const {
  std::string t = text();
  llvm::SHA256 sha;
  sha.update(t);
  return llvm::toHex(sha.final(), /*LowerCase=*/true);
}

//===----------------------------------------------------------------------===//
// Records
//===----------------------------------------------------------------------===//

json::Value TuningRecord::toJson(bool withMeasurements) const {
  json::Object o{{"id", id},
                 {"uid", uid},
                 {"key", key.toJson()},
                 {"key_hash", key.hash()},
                 {"tile", tileJson(tile)},
                 {"median_ns", medianNs},
                 {"default_tile", tileJson(defaultTile)},
                 {"default_median_ns", defaultMedianNs},
                 {"speedup", speedup},
                 {"measured", measured},
                 {"pruned", pruned},
                 {"elapsed_s", elapsedS},
                 {"created", created}};
  if (withMeasurements) {
    json::Array list;
    for (const TuningMeasurement &m : measurements)
      list.push_back(json::Object{{"tile", tileJson(m.tile)},
                                  {"phase", m.phase},
                                  {"median_ns", m.medianNs},
                                  {"spread_ns", m.spreadNs},
                                  {"samples", m.samples}});
    o["measurements"] = std::move(list);
  }
  return o;
}

Expected<TuningRecord> TuningRecord::fromJson(const json::Value &value) {
  const json::Object *o = value.getAsObject();
  if (!o)
    return llvm::createStringError("a record must be a JSON object");
  TuningRecord r;
  const json::Value *keyValue = o->get("key");
  if (!keyValue)
    return llvm::createStringError("a record needs a key");
  Expected<TuningKey> key = TuningKey::fromJson(*keyValue);
  if (!key)
    return key.takeError();
  r.key = *key;
  if (std::optional<StringRef> hash = o->getString("key_hash"))
    if (*hash != r.key.hash())
      return llvm::createStringError("key_hash " + hash->str() +
                                     " does not match the key");
  Expected<TileConfig> tile = tileFromJson(o->get("tile"), "tile");
  if (!tile)
    return tile.takeError();
  Expected<TileConfig> def =
      tileFromJson(o->get("default_tile"), "default_tile");
  if (!def)
    return def.takeError();
  r.tile = *tile;
  r.defaultTile = *def;
  std::optional<StringRef> uid = o->getString("uid");
  std::optional<double> median = o->getNumber("median_ns");
  std::optional<double> defMedian = o->getNumber("default_median_ns");
  std::optional<double> speedup = o->getNumber("speedup");
  std::optional<StringRef> created = o->getString("created");
  if (!uid || uid->empty() || !median || !defMedian || !speedup || !created)
    return llvm::createStringError("a record needs uid, median_ns, "
                                   "default_median_ns, speedup and created");
  r.uid = uid->str();
  r.medianNs = *median;
  r.defaultMedianNs = *defMedian;
  r.speedup = *speedup;
  r.created = created->str();
  r.measured = o->getInteger("measured").value_or(0);
  r.pruned = o->getInteger("pruned").value_or(0);
  r.elapsedS = o->getNumber("elapsed_s").value_or(0);
  if (const json::Array *list = o->getArray("measurements")) {
    for (const json::Value &v : *list) {
      const json::Object *m = v.getAsObject();
      Expected<TileConfig> mt =
          tileFromJson(m ? m->get("tile") : nullptr, "a measurement's tile");
      if (!mt)
        return mt.takeError();
      TuningMeasurement meas;
      meas.tile = *mt;
      meas.phase = m->getString("phase").value_or("").str();
      meas.medianNs = m->getNumber("median_ns").value_or(0);
      meas.spreadNs = m->getNumber("spread_ns").value_or(0);
      meas.samples = m->getInteger("samples").value_or(0);
      r.measurements.push_back(std::move(meas));
    }
  }
  if (std::optional<std::string> problem = recordProblem(r))
    return llvm::createStringError(*problem);
  return r;
}

//===----------------------------------------------------------------------===//
// The database
//===----------------------------------------------------------------------===//

std::string clusopt::defaultTuningDbPath() {
  if (std::optional<std::string> env =
          llvm::sys::Process::GetEnv("CLUSOPT_TUNING_DB"))
    return *env;
  llvm::SmallString<128> path;
  std::optional<std::string> xdg = llvm::sys::Process::GetEnv("XDG_CACHE_HOME");
  if (xdg && !xdg->empty())
    path = *xdg;
  else if (std::optional<std::string> home = llvm::sys::Process::GetEnv("HOME"))
    llvm::sys::path::append(path, *home, ".cache");
  else
    return "";
  llvm::sys::path::append(path, "clusopt", "tuning.sqlite");
  return std::string(path);
}

Error TuningDatabase::error(const llvm::Twine &what) const {
  int code = sqlite3_extended_errcode(db) & 0xff;
  std::string why = sqlite3_errmsg(db);
  if (code == SQLITE_NOTADB)
    why = "not a SQLite database (" + why + ")";
  else if (code == SQLITE_CORRUPT)
    why = "the database is corrupt (" + why + "); remove or replace it";
  else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
    why = llvm::formatv("the database is locked by another process ({0}) "
                        "past the {1} ms timeout "
                        "(CLUSOPT_TUNING_DB_TIMEOUT_MS); try again when it is "
                        "done",
                        why, timeoutMs)
              .str();
  else if (code == SQLITE_READONLY)
    why = "the file is read-only (" + why + ")";
  return llvm::createStringError("tuning database " + dbPath + ": " +
                                 what.str() + ": " + why);
}

Error TuningDatabase::exec(StringRef sql) {
  if (sqlite3_exec(db, sql.str().c_str(), nullptr, nullptr, nullptr) !=
      SQLITE_OK)
    return error("cannot run '" + sql.split('\n').first.str() + "'");
  return Error::success();
}

Expected<std::unique_ptr<TuningDatabase>> TuningDatabase::open(StringRef path,
                                                               Mode mode) {
  if (path.empty())
    return llvm::createStringError("no tuning database path");
  int timeoutMs = 10000;
  if (std::optional<std::string> env =
          llvm::sys::Process::GetEnv("CLUSOPT_TUNING_DB_TIMEOUT_MS"))
    if (StringRef(*env).trim().getAsInteger(10, timeoutMs) || timeoutMs < 0 ||
        timeoutMs > 3600000)
      return llvm::createStringError(
          "CLUSOPT_TUNING_DB_TIMEOUT_MS must be a whole number of "
          "milliseconds in [0, 3600000], got '" +
          *env + "'");
  bool exists = llvm::sys::fs::exists(path);
  if (!exists && mode == Mode::Lookup)
    return llvm::createStringError("tuning database " + path.str() +
                                   " does not exist");
  if (exists && llvm::sys::fs::is_directory(path))
    return llvm::createStringError("tuning database " + path.str() +
                                   " is a directory");
  if (!exists) {
    StringRef dir = llvm::sys::path::parent_path(path);
    if (!dir.empty())
      if (std::error_code ec = llvm::sys::fs::create_directories(dir))
        return llvm::createStringError("tuning database " + path.str() +
                                       ": cannot create " + dir.str() + ": " +
                                       ec.message());
  }
  if (mode == Mode::Update) {
    // Say so before any work: SQLite would fail only at its first write.
    StringRef dir = llvm::sys::path::parent_path(path);
    auto writable = [](StringRef p) {
      return !llvm::sys::fs::access(p, llvm::sys::fs::AccessMode::Write);
    };
    if (exists && !writable(path))
      return llvm::createStringError(
          "tuning database " + path.str() +
          " is read-only; clusopt-tune writes its records there: make it "
          "writable, or give another --db");
    if (!writable(dir.empty() ? "." : dir))
      return llvm::createStringError(
          "tuning database " + path.str() + ": its directory " +
          (dir.empty() ? "." : dir) +
          " is not writable (SQLite keeps its journal there); give another "
          "--db");
  }
  // Lookups open read-only, so listing or compiling never writes the file
  // (nor needs write permission). A WAL file needs its -shm beside it; in
  // a directory we cannot write, with no -wal left to replay, read the
  // file as immutable instead.
  std::string name = path.str();
  int flags = SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::Update) {
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  } else {
    flags |= SQLITE_OPEN_READONLY;
    StringRef dir = llvm::sys::path::parent_path(path);
    if (isWalFile(path) && !llvm::sys::fs::exists(path + "-shm") &&
        !llvm::sys::fs::exists(path + "-wal") &&
        llvm::sys::fs::access(dir.empty() ? "." : dir,
                              llvm::sys::fs::AccessMode::Write)) {
      name = immutableUri(path);
      flags |= SQLITE_OPEN_URI;
    }
  }
  sqlite3 *raw = nullptr;
  int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
  std::unique_ptr<TuningDatabase> db(new TuningDatabase(raw, path.str()));
  if (rc != SQLITE_OK)
    return db->error("cannot open");
  db->timeoutMs = timeoutMs;
  sqlite3_busy_timeout(raw, timeoutMs);
  if (Error err = db->validate(mode))
    return std::move(err);
  if (mode == Mode::Update && sqlite3_db_readonly(raw, "main") == 1)
    return llvm::createStringError(
        "tuning database " + path.str() +
        ": the file is read-only; clusopt-tune needs to write it: make it "
        "writable, or give another --db");
  return db;
}

TuningDatabase::~TuningDatabase() { sqlite3_close_v2(db); }

Error TuningDatabase::validate(Mode mode) {
  // Reads only, so a file we refuse is left exactly as it was.
  auto pragma = [&](StringRef name) -> Expected<int64_t> {
    Statement s(db, ("PRAGMA " + name).str());
    if (!s.ok() || s.step() != SQLITE_ROW)
      return error("cannot read PRAGMA " + name);
    return s.integer(0);
  };
  auto state = [&]() -> Expected<std::array<int64_t, 3>> {
    Expected<int64_t> app = pragma("application_id");
    if (!app)
      return app.takeError();
    Expected<int64_t> version = pragma("user_version");
    if (!version)
      return version.takeError();
    Statement s(db, "SELECT count(*) FROM sqlite_master");
    if (!s.ok() || s.step() != SQLITE_ROW)
      return error("cannot read the schema");
    return std::array<int64_t, 3>{*app, *version, s.integer(0)};
  };
  Expected<std::array<int64_t, 3>> st = state();
  if (!st)
    return st.takeError();
  auto isEmpty = [](const std::array<int64_t, 3> &s) {
    return s[0] == 0 && s[1] == 0 && s[2] == 0;
  };
  if (isEmpty(*st) && mode == Mode::Update) {
    // Another tuner may be creating it too: decide under the write lock.
    if (Error err = exec("BEGIN IMMEDIATE"))
      return err;
    st = state();
    if (st && isEmpty(*st)) {
      std::string init = kSchema;
      init += llvm::formatv("PRAGMA application_id = {0};\n"
                            "PRAGMA user_version = {1};\n",
                            kApplicationId, kSchemaVersion)
                  .str();
      if (Error err = exec(init)) {
        llvm::consumeError(exec("ROLLBACK"));
        return err;
      }
    }
    if (!st) {
      llvm::consumeError(exec("ROLLBACK"));
      return st.takeError();
    }
    if (Error err = exec("COMMIT"))
      return err;
    st = state();
    if (!st)
      return st.takeError();
  }
  int64_t app = (*st)[0], version = (*st)[1];
  bool empty = isEmpty(*st);
  if (empty) {
    initialized = false;
    return Error::success();
  }
  if (app != kApplicationId)
    return llvm::createStringError(
        llvm::formatv("tuning database {0}: a SQLite database of another "
                      "application (application_id {1:x+}, user_version {2}), "
                      "not a clusopt tuning database; refusing to use it",
                      dbPath, app, version)
            .str());
  if (version > kSchemaVersion)
    return llvm::createStringError(
        llvm::formatv("tuning database {0}: schema version {1} is newer than "
                      "this clusopt's ({2}); use a newer clusopt or another "
                      "database",
                      dbPath, version, kSchemaVersion)
            .str());
  // Every column the queries use must be there.
  for (auto [table, columns] :
       {std::pair<StringRef, StringRef>{"records", kRecordColumns},
        {"measurements", kMeasurementColumns}}) {
    Statement s(db,
                ("SELECT " + columns + " FROM " + table + " LIMIT 0").str());
    if (version != kSchemaVersion || !s.ok())
      return llvm::createStringError(
          llvm::formatv("tuning database {0}: damaged schema (version {1}, "
                        "table {2}: {3})",
                        dbPath, version, table, sqlite3_errmsg(db))
              .str());
  }
  // A damaged page can hide records (a lookup then silently finds none) or
  // break a query halfway through a listing: check every page and index
  // first. Cheap at the size of a tuning database.
  {
    Statement s(db, "PRAGMA integrity_check(4)");
    SmallVector<std::string> problems;
    int rc = SQLITE_ERROR;
    while (s.ok() && (rc = s.step()) == SQLITE_ROW) {
      // One row per problem, some with several lines under a heading.
      std::string text = s.text(0);
      SmallVector<StringRef> lines;
      StringRef(text).split(lines, '\n', -1, /*KeepEmpty=*/false);
      for (StringRef line : lines)
        if (!line.starts_with("*** in database"))
          problems.push_back(line.trim().str());
    }
    int code = sqlite3_extended_errcode(db) & 0xff;
    if (rc != SQLITE_DONE && code != SQLITE_CORRUPT && code != SQLITE_NOTADB)
      return error("cannot check the database's integrity");
    if (rc != SQLITE_DONE)
      problems = {sqlite3_errmsg(db)};
    if (problems.size() != 1 || problems.front() != "ok") {
      if (problems.size() > 3)
        problems.resize(3);
      return llvm::createStringError(
          "tuning database " + dbPath +
          " is corrupt (PRAGMA integrity_check: " + llvm::join(problems, "; ") +
          "); remove or replace the file");
    }
  }
  initialized = true;
  if (mode == Mode::Update) {
    // WAL: lookups and other tuners read while one tuner writes.
    if (Error err = exec("PRAGMA journal_mode = WAL"))
      return err;
    // Fail now, not after the measurements, if another process holds the
    // write lock past the busy timeout.
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) !=
        SQLITE_OK)
      return error("cannot take the write lock");
    return exec("ROLLBACK");
  }
  return Error::success();
}

namespace {

Error badRow(StringRef dbPath, const llvm::Twine &row, Error problem) {
  return llvm::createStringError(
      "tuning database " + dbPath + ": " + row.str() + ": " +
      llvm::toString(std::move(problem)) +
      "; remove the record (or the database), or re-import it from an export");
}

/// The record in the current row of a query for kRecordColumns and the key
/// columns; an error names the row and what is wrong with it.
Expected<TuningRecord> readRecord(Statement &s, StringRef dbPath) {
  TuningRecord r;
  r.id = s.integer(0);
  // The row as the messages name it: id, op and key hash when readable.
  std::string row = "record " + std::to_string(r.id);
  if (s.type(15) == SQLITE_TEXT && s.type(14) == SQLITE_TEXT)
    row += " (" + s.text(15) + ", key " + s.text(14).substr(0, 12) + ")";
  auto bad = [&](Error problem) {
    return badRow(dbPath, row, std::move(problem));
  };
  auto bad2 = [&](const llvm::Twine &what) {
    return bad(llvm::createStringError(what));
  };
#define READ(var, kind, column)                                                \
  auto var = kind##Column(s, column);                                          \
  if (!var)                                                                    \
    return bad(var.takeError());
  READ(uid, text, 1)
  READ(keyText, text, 2)
  READ(rows, integer, 3)
  READ(cols, integer, 4)
  READ(median, number, 5)
  READ(defaultRows, integer, 6)
  READ(defaultCols, integer, 7)
  READ(defaultMedian, number, 8)
  READ(speedup, number, 9)
  READ(measured, integer, 10)
  READ(pruned, integer, 11)
  READ(elapsed, number, 12)
  READ(created, text, 13)
  READ(keyHash, text, 14)
  READ(op, text, 15)
  READ(triple, text, 16)
  READ(cpu, text, 17)
  READ(features, text, 18)
  READ(compiler, text, 19)
#undef READ
  Expected<json::Value> keyJson = json::parse(*keyText);
  if (!keyJson)
    return bad2("key_json is not JSON: " + llvm::toString(keyJson.takeError()));
  Expected<TuningKey> key = TuningKey::fromJson(*keyJson);
  if (!key)
    return bad2("key_json: " + llvm::toString(key.takeError()));
  r.key = *key;
  // The columns beside key_json must say the same; a record never
  // applies to another target or compiler.
  if (*keyHash != r.key.hash() || *op != r.key.op || *triple != r.key.triple ||
      *cpu != r.key.cpu || *features != r.key.features ||
      *compiler != r.key.compiler)
    return bad2("inconsistent: its key columns disagree with key_json");
  r.uid = *uid;
  r.tile = {*rows, *cols};
  r.medianNs = *median;
  r.defaultTile = {*defaultRows, *defaultCols};
  r.defaultMedianNs = *defaultMedian;
  r.speedup = *speedup;
  r.measured = *measured;
  r.pruned = *pruned;
  r.elapsedS = *elapsed;
  r.created = *created;
  if (r.uid.empty())
    return bad2("uid is empty");
  if (std::optional<std::string> problem = recordProblem(r))
    return bad2(*problem);
  return r;
}

/// One row of a query for "id, " + kMeasurementColumns.
Expected<TuningMeasurement> readMeasurement(Statement &m) {
  TuningMeasurement meas;
  Expected<int64_t> rows = integerColumn(m, 2);
  if (!rows)
    return rows.takeError();
  Expected<int64_t> cols = integerColumn(m, 3);
  if (!cols)
    return cols.takeError();
  Expected<std::string> phase = textColumn(m, 4);
  if (!phase)
    return phase.takeError();
  Expected<double> median = numberColumn(m, 5);
  if (!median)
    return median.takeError();
  Expected<double> spread = numberColumn(m, 6);
  if (!spread)
    return spread.takeError();
  Expected<int64_t> samples = integerColumn(m, 7);
  if (!samples)
    return samples.takeError();
  return TuningMeasurement{{*rows, *cols}, *phase, *median, *spread, *samples};
}

} // namespace

Expected<std::vector<TuningRecord>>
TuningDatabase::select(StringRef where, const TuningKey *key,
                       bool withMeasurements) {
  std::vector<TuningRecord> out;
  if (!initialized)
    return out;
  Statement s(db, (llvm::Twine("SELECT ") + kRecordColumns + ", key, op, " +
                   "triple, cpu, features, compiler FROM records " + where)
                      .str());
  if (!s.ok())
    return error("cannot query records");
  if (key) {
    s.bind(1, key->hash());
    s.bind(2, key->text());
  }
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    Expected<TuningRecord> r = readRecord(s, dbPath);
    if (!r)
      return r.takeError();
    out.push_back(std::move(*r));
  }
  if (rc != SQLITE_DONE)
    return error("cannot read records");
  if (!withMeasurements)
    return out;
  for (TuningRecord &r : out) {
    Statement m(db, (llvm::Twine("SELECT id, ") + kMeasurementColumns +
                     " FROM measurements WHERE record_id = ?1 ORDER BY id")
                        .str());
    if (!m.ok())
      return error("cannot query measurements");
    m.bind(1, r.id);
    while ((rc = m.step()) == SQLITE_ROW) {
      Expected<TuningMeasurement> meas = readMeasurement(m);
      if (!meas)
        return badRow(dbPath,
                      llvm::formatv("measurement {0} of record {1} ({2})",
                                    m.integer(0), r.id, r.key.op),
                      meas.takeError());
      r.measurements.push_back(std::move(*meas));
    }
    if (rc != SQLITE_DONE)
      return error("cannot read measurements");
    if (std::optional<std::string> problem = recordProblem(r))
      return badRow(dbPath, "record " + std::to_string(r.id),
                    llvm::createStringError(*problem));
  }
  return out;
}

Expected<std::optional<TuningRecord>>
TuningDatabase::lookup(const TuningKey &key) {
  Expected<std::vector<TuningRecord>> found =
      select("WHERE key = ?1 AND key_json = ?2 ORDER BY created DESC, id DESC "
             "LIMIT 1",
             &key, false);
  if (!found)
    return found.takeError();
  if (found->empty() || !(found->front().key == key))
    return std::nullopt;
  return std::move(found->front());
}

Expected<std::vector<TuningRecord>> TuningDatabase::all(bool withMeasurements) {
  return select("ORDER BY id", nullptr, withMeasurements);
}

Expected<bool> TuningDatabase::insert(TuningRecord &record) {
  if (!initialized)
    return error("not opened for update");
  if (record.uid.empty())
    record.uid = randomUid();
  if (record.created.empty())
    record.created = nowUtc();
  if (Error err = exec("BEGIN IMMEDIATE"))
    return std::move(err);
  auto fail = [&](StringRef what) -> Expected<bool> {
    Error err = error(what);
    llvm::consumeError(exec("ROLLBACK"));
    return std::move(err);
  };
  {
    Statement s(db, "SELECT id FROM records WHERE uid = ?1");
    s.bind(1, record.uid);
    int rc = s.ok() ? s.step() : SQLITE_ERROR;
    if (rc == SQLITE_ROW) {
      if (Error err = exec("ROLLBACK"))
        return std::move(err);
      return false;
    }
    if (rc != SQLITE_DONE)
      return fail("cannot read records");
  }
  {
    Statement s(db,
                "INSERT INTO records (uid, key, key_json, op, triple, cpu, "
                "features, compiler, rows, cols, median_ns, default_rows, "
                "default_cols, default_median_ns, speedup, measured, pruned, "
                "elapsed_s, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)");
    if (!s.ok())
      return fail("cannot insert a record");
    const TuningKey &k = record.key;
    s.bind(1, record.uid);
    s.bind(2, k.hash());
    s.bind(3, k.text());
    s.bind(4, k.op);
    s.bind(5, k.triple);
    s.bind(6, k.cpu);
    s.bind(7, k.features);
    s.bind(8, k.compiler);
    s.bind(9, record.tile.rows);
    s.bind(10, record.tile.cols);
    s.bind(11, record.medianNs);
    s.bind(12, record.defaultTile.rows);
    s.bind(13, record.defaultTile.cols);
    s.bind(14, record.defaultMedianNs);
    s.bind(15, record.speedup);
    s.bind(16, record.measured);
    s.bind(17, record.pruned);
    s.bind(18, record.elapsedS);
    s.bind(19, record.created);
    if (s.step() != SQLITE_DONE)
      return fail("cannot insert a record");
  }
  record.id = sqlite3_last_insert_rowid(db);
  for (const TuningMeasurement &m : record.measurements) {
    Statement s(db, "INSERT INTO measurements (record_id, rows, cols, phase, "
                    "median_ns, spread_ns, samples) VALUES (?1, ?2, ?3, ?4, "
                    "?5, ?6, ?7)");
    if (!s.ok())
      return fail("cannot insert a measurement");
    s.bind(1, record.id);
    s.bind(2, m.tile.rows);
    s.bind(3, m.tile.cols);
    s.bind(4, m.phase);
    s.bind(5, m.medianNs);
    s.bind(6, m.spreadNs);
    s.bind(7, m.samples);
    if (s.step() != SQLITE_DONE)
      return fail("cannot insert a measurement");
  }
  if (Error err = exec("COMMIT")) {
    llvm::consumeError(exec("ROLLBACK"));
    return std::move(err);
  }
  return true;
}

// The one place in Sigma that includes sqlite3.h: the handle and every
// prepared statement are owned here (cached, reset after each use), the
// database runs in WAL with a busy timeout so that the origin reads while
// sigma-dvr writes, and every write of several rows is one transaction.
#include "dvr/index.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>

#include "base/fs.h"

namespace sigma::dvr {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;

const char* const kSchemaSql = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS segments(
  track TEXT NOT NULL,
  msn INTEGER NOT NULL,
  start_ms INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  uri TEXT NOT NULL,
  init TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  discontinuity INTEGER NOT NULL,
  gap INTEGER NOT NULL,
  independent INTEGER NOT NULL,
  PRIMARY KEY(track, msn));
CREATE INDEX IF NOT EXISTS segments_by_time ON segments(track, start_ms);
CREATE INDEX IF NOT EXISTS segments_by_age ON segments(start_ms);
CREATE INDEX IF NOT EXISTS segments_by_init ON segments(init);
CREATE INDEX IF NOT EXISTS segments_by_duration ON segments(track, duration_ms);
CREATE TABLE IF NOT EXISTS keeps(name TEXT PRIMARY KEY, from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL);
)SQL";

const char* const kSegmentColumns =
    "track, msn, start_ms, duration_ms, uri, init, bytes, discontinuity, gap, independent";

// A prepared statement, reset (and its bindings cleared) when a use ends.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const { return s_; }
  sqlite3_stmt** addr() { return &s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

struct Use {
  sqlite3_stmt* s;
  explicit Use(sqlite3_stmt* st) : s(st) {}
  ~Use() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  void bind(int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  int step() { return sqlite3_step(s); }
  int64_t i64(int c) const { return sqlite3_column_int64(s, c); }
  std::string text(int c) const {
    const unsigned char* t = sqlite3_column_text(s, c);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s, c)))
             : std::string();
  }
};

SegmentRow read_row(const Use& u) {
  SegmentRow r;
  r.track = u.text(0);
  r.msn = u.i64(1);
  r.start_ms = u.i64(2);
  r.duration_ms = u.i64(3);
  r.uri = u.text(4);
  r.init = u.text(5);
  r.bytes = u.i64(6);
  r.discontinuity = u.i64(7) != 0;
  r.gap = u.i64(8) != 0;
  r.independent = u.i64(9) != 0;
  return r;
}

// Folds segments, in order, into ranges without a hole.
class RangeBuilder {
 public:
  void add(int64_t start, int64_t end, int64_t bytes, bool gap) {
    if (gap) {
      close();
      return;
    }
    if (open_ && (start - cur_.to_ms > kHoleMs || end < cur_.from_ms)) close();
    if (!open_) {
      cur_ = Range{start, end, 0, 0};
      open_ = true;
    }
    if (end > cur_.to_ms) cur_.to_ms = end;
    cur_.bytes += bytes;
    ++cur_.segments;
  }
  std::vector<Range> finish() {
    close();
    return std::move(out_);
  }

 private:
  void close() {
    if (open_) out_.push_back(cur_);
    open_ = false;
  }
  bool open_ = false;
  Range cur_;
  std::vector<Range> out_;
};

}  // namespace

struct Index::Impl {
  std::string dir, path;
  Mode mode = Mode::kReadOnly;
  sqlite3* db = nullptr;
  // One connection, used by one caller at a time: the origin may share an
  // Index between its threads.
  mutable std::mutex mu;
  mutable std::map<std::string, std::unique_ptr<Stmt>> stmts;

  ~Impl() {
    stmts.clear();
    if (db) sqlite3_close_v2(db);
  }

  Status error(const std::string& what, int rc) const {
    std::string msg = "index " + path + ": " + (what.empty() ? "" : what + ": ") +
                      (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    int primary = rc & 0xff;
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
      return data_error(msg + " (the index is damaged: move it away and restart sigma-dvr to rebuild it)");
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_IOERR || primary == SQLITE_FULL ||
        primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_PERM)
      return system_error(msg);
    return internal_error(msg);
  }

  Result<sqlite3_stmt*> prepare(const std::string& sql) const {
    auto it = stmts.find(sql);
    if (it != stmts.end()) return it->second->get();
    auto st = std::make_unique<Stmt>();
    int rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, st->addr(), nullptr);
    if (rc != SQLITE_OK) return error("prepare", rc);
    sqlite3_stmt* raw = st->get();
    stmts.emplace(sql, std::move(st));
    return raw;
  }

  Status exec(const char* sql, const std::string& what = "") const {
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return error(what, rc);
    return {};
  }

  Status insert_locked(const SegmentRow& r) {
    SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                           prepare(std::string("INSERT OR REPLACE INTO segments(") + kSegmentColumns +
                                   ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"));
    Use u(s);
    u.bind(1, r.track);
    u.bind(2, r.msn);
    u.bind(3, r.start_ms);
    u.bind(4, r.duration_ms);
    u.bind(5, r.uri);
    u.bind(6, r.init);
    u.bind(7, r.bytes);
    u.bind(8, int64_t{r.discontinuity});
    u.bind(9, int64_t{r.gap});
    u.bind(10, int64_t{r.independent});
    int rc = u.step();
    if (rc != SQLITE_DONE) return error("insert " + r.uri, rc);
    return {};
  }

  Status remove_locked(const std::string& track, int64_t msn) {
    SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare("DELETE FROM segments WHERE track = ?1 AND msn = ?2"));
    Use u(s);
    u.bind(1, track);
    u.bind(2, msn);
    int rc = u.step();
    if (rc != SQLITE_DONE) return error("delete", rc);
    return {};
  }

  template <class F>
  Status transaction(F&& body) {
    SIGMA_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
    Status st = body();
    if (!st.is_ok()) {
      (void)exec("ROLLBACK");
      return st;
    }
    st = exec("COMMIT");
    if (!st.is_ok()) (void)exec("ROLLBACK");
    return st;
  }

  Result<std::vector<SegmentRow>> rows(const std::string& sql, const std::function<void(Use&)>& bind) const {
    SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare(sql));
    Use u(s);
    bind(u);
    std::vector<SegmentRow> out;
    int rc;
    while ((rc = u.step()) == SQLITE_ROW) out.push_back(read_row(u));
    if (rc != SQLITE_DONE) return error("query", rc);
    return out;
  }

  Result<int64_t> scalar(const std::string& sql, const std::function<void(Use&)>& bind = {}) const {
    SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare(sql));
    Use u(s);
    if (bind) bind(u);
    int rc = u.step();
    if (rc == SQLITE_ROW) return u.i64(0);
    if (rc == SQLITE_DONE) return int64_t{0};
    return error("query", rc);
  }

  Status check_schema() {
    // meta may be missing in a read-only open of a database that was never
    // initialised: that is a foreign file.
    SIGMA_ASSIGN_OR_RETURN(int64_t has_meta,
                           scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"));
    if (!has_meta) return data_error("index " + path + ": not a sigma-dvr index (no meta table)");
    SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare("SELECT value FROM meta WHERE key = 'schema'"));
    Use u(s);
    int rc = u.step();
    if (rc != SQLITE_ROW) {
      if (rc == SQLITE_DONE) return data_error("index " + path + ": not a sigma-dvr index (no schema version)");
      return error("read schema version", rc);
    }
    std::string v = u.text(0);
    if (v != std::to_string(kSchemaVersion))
      return data_error("index " + path + ": schema version " + v + ", this sigma-dvr reads version " +
                        std::to_string(kSchemaVersion));
    return {};
  }

  Status create_schema() {
    return transaction([&]() -> Status {
      SIGMA_RETURN_IF_ERROR(exec(kSchemaSql));
      SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                             prepare("INSERT OR IGNORE INTO meta(key, value) VALUES('schema', ?1)"));
      Use u(s);
      u.bind(1, std::to_string(kSchemaVersion));
      int rc = u.step();
      if (rc != SQLITE_DONE) return error("write schema version", rc);
      return exec("PRAGMA user_version = 1");
    });
  }
};

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::~Index() = default;

Result<std::unique_ptr<Index>> Index::open(const std::string& channel_dir, Mode mode) {
  auto impl = std::make_unique<Impl>();
  impl->dir = channel_dir;
  impl->mode = mode;
  impl->path = channel_dir + "/" + kIndexPath;
  struct stat st {};
  if (::stat(channel_dir.c_str(), &st) != 0)
    return errno_error("channel directory " + channel_dir, errno);
  if (!S_ISDIR(st.st_mode)) return usage_error("channel directory " + channel_dir + ": not a directory");
  int flags = SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::kReadWrite) {
    SIGMA_RETURN_IF_ERROR(make_dirs(channel_dir + "/.dvr"));
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  } else {
    if (::stat(impl->path.c_str(), &st) != 0) {
      int e = errno;
      return Status(ExitCode::kSystem, "index " + impl->path + ": " + std::strerror(e) +
                                           (e == ENOENT ? " (no archive: is sigma-dvr run on this channel?)" : ""));
    }
    flags |= SQLITE_OPEN_READONLY;
  }
  int rc = sqlite3_open_v2(impl->path.c_str(), &impl->db, flags, nullptr);
  if (rc != SQLITE_OK) return impl->error("open", rc);
  sqlite3_extended_result_codes(impl->db, 1);
  sqlite3_busy_timeout(impl->db, kBusyTimeoutMs);
  if (mode == Mode::kReadWrite) {
    // The first statement reads the header: a file that is not a database
    // fails here, before anything is written to it.
    SIGMA_RETURN_IF_ERROR(impl->exec("PRAGMA journal_mode = WAL"));
    SIGMA_RETURN_IF_ERROR(impl->exec("PRAGMA synchronous = NORMAL"));
    // Keep -wal and -shm when the writer closes, so that a read-only
    // connection (which may not create them) still opens the database.
    int persist = 1;
    sqlite3_file_control(impl->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    SIGMA_ASSIGN_OR_RETURN(int64_t has_meta,
                           impl->scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"));
    SIGMA_ASSIGN_OR_RETURN(int64_t tables, impl->scalar("SELECT count(*) FROM sqlite_master"));
    if (!has_meta && tables > 0)
      return data_error("index " + impl->path + ": not a sigma-dvr index (tables but no meta)");
    if (!has_meta) SIGMA_RETURN_IF_ERROR(impl->create_schema());
    SIGMA_RETURN_IF_ERROR(impl->check_schema());
    // Later versions of the code may add indexes; IF NOT EXISTS is cheap.
    SIGMA_RETURN_IF_ERROR(impl->exec(kSchemaSql));
  } else {
    SIGMA_RETURN_IF_ERROR(impl->check_schema());
  }
  return std::unique_ptr<Index>(new Index(std::move(impl)));
}

const std::string& Index::channel_dir() const { return impl_->dir; }

Status Index::add(const SegmentRow& row) {
  std::lock_guard lk(impl_->mu);
  return impl_->insert_locked(row);
}

Status Index::add_batch(const std::vector<SegmentRow>& rows) {
  if (rows.empty()) return {};
  std::lock_guard lk(impl_->mu);
  return impl_->transaction([&]() -> Status {
    for (const auto& r : rows) SIGMA_RETURN_IF_ERROR(impl_->insert_locked(r));
    return {};
  });
}

Status Index::remove(const std::string& track, int64_t msn) {
  std::lock_guard lk(impl_->mu);
  return impl_->remove_locked(track, msn);
}

Status Index::remove_batch(const std::vector<std::pair<std::string, int64_t>>& keys) {
  if (keys.empty()) return {};
  std::lock_guard lk(impl_->mu);
  return impl_->transaction([&]() -> Status {
    for (const auto& [t, m] : keys) SIGMA_RETURN_IF_ERROR(impl_->remove_locked(t, m));
    return {};
  });
}

Status Index::put_keep(const Keep& k) {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(
      sqlite3_stmt * s,
      impl_->prepare("INSERT OR REPLACE INTO keeps(name, from_ms, to_ms, created_ms) VALUES(?1,?2,?3,?4)"));
  Use u(s);
  u.bind(1, k.name);
  u.bind(2, k.from_ms);
  u.bind(3, k.to_ms);
  u.bind(4, k.created_ms);
  int rc = u.step();
  if (rc != SQLITE_DONE) return impl_->error("add keep " + k.name, rc);
  return {};
}

Status Index::drop_keep(const std::string& name) {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->prepare("DELETE FROM keeps WHERE name = ?1"));
  Use u(s);
  u.bind(1, name);
  int rc = u.step();
  if (rc != SQLITE_DONE) return impl_->error("remove keep " + name, rc);
  if (sqlite3_changes(impl_->db) == 0) return usage_error("no keep named '" + name + "'");
  return {};
}

Result<std::vector<std::string>> Index::tracks() const {
  std::lock_guard lk(impl_->mu);
  // DISTINCT over the primary key's first column walks the index.
  SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->prepare("SELECT DISTINCT track FROM segments ORDER BY track"));
  Use u(s);
  std::vector<std::string> out;
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) out.push_back(u.text(0));
  if (rc != SQLITE_DONE) return impl_->error("list tracks", rc);
  return out;
}

Result<std::vector<SegmentRow>> Index::segments(const std::string& track, int64_t from_ms, int64_t to_ms) const {
  std::lock_guard lk(impl_->mu);
  // The lower bound on start_ms (from minus the track's longest segment)
  // lets segments_by_time narrow the scan at both ends.
  SIGMA_ASSIGN_OR_RETURN(int64_t longest,
                         impl_->scalar("SELECT max(duration_ms) FROM segments WHERE track = ?1",  // NULL reads as 0
                                       [&](Use& u) { u.bind(1, track); }));
  return impl_->rows(std::string("SELECT ") + kSegmentColumns +
                         " FROM segments WHERE track = ?1 AND start_ms < ?3 AND start_ms >= ?4"
                         " AND start_ms + duration_ms > ?2 ORDER BY msn",
                     [&](Use& u) {
                       u.bind(1, track);
                       u.bind(2, from_ms);
                       u.bind(3, to_ms);
                       u.bind(4, from_ms - longest - 1);
                     });
}

Result<std::vector<Keep>> Index::keeps() const {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         impl_->prepare("SELECT name, from_ms, to_ms, created_ms FROM keeps ORDER BY from_ms, name"));
  Use u(s);
  std::vector<Keep> out;
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) out.push_back(Keep{u.text(0), u.i64(1), u.i64(2), u.i64(3)});
  if (rc != SQLITE_DONE) return impl_->error("list keeps", rc);
  return out;
}

Result<int64_t> Index::total_bytes() const {
  std::lock_guard lk(impl_->mu);
  return impl_->scalar("SELECT coalesce(sum(bytes), 0) FROM segments");
}

Result<std::optional<std::pair<int64_t, int64_t>>> Index::span() const {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(int64_t n, impl_->scalar("SELECT count(*) FROM (SELECT 1 FROM segments LIMIT 1)"));
  if (n == 0) return std::optional<std::pair<int64_t, int64_t>>();
  SIGMA_ASSIGN_OR_RETURN(int64_t lo, impl_->scalar("SELECT min(start_ms) FROM segments"));
  SIGMA_ASSIGN_OR_RETURN(int64_t hi, impl_->scalar("SELECT max(start_ms + duration_ms) FROM segments"));
  return std::optional<std::pair<int64_t, int64_t>>(std::make_pair(lo, hi));
}

Result<std::vector<Range>> Index::ranges(const std::string& track) const {
  std::lock_guard lk(impl_->mu);
  // Rows are folded as they are stepped: 21,600 segments a day never sit
  // in memory at once.
  std::string sql = track.empty()
                        ? "SELECT start_ms, duration_ms, bytes, gap FROM segments ORDER BY start_ms"
                        : "SELECT start_ms, duration_ms, bytes, gap FROM segments WHERE track = ?1 ORDER BY start_ms";
  SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->prepare(sql));
  Use u(s);
  if (!track.empty()) u.bind(1, track);
  RangeBuilder b;
  int rc;
  // For the channel, a gap of one track is not a hole when another track
  // covers the time: only missing time splits the channel's ranges.
  while ((rc = u.step()) == SQLITE_ROW) {
    bool gap = u.i64(3) != 0;
    if (track.empty() && gap) continue;
    b.add(u.i64(0), u.i64(0) + u.i64(1), u.i64(2), gap);
  }
  if (rc != SQLITE_DONE) return impl_->error("ranges", rc);
  return b.finish();
}

Result<std::vector<SegmentRow>> Index::oldest(int64_t before_ms, int64_t limit, const SegmentRow* after) const {
  std::lock_guard lk(impl_->mu);
  if (!after)
    return impl_->rows(std::string("SELECT ") + kSegmentColumns +
                           " FROM segments WHERE start_ms < ?1 ORDER BY start_ms, track, msn LIMIT ?2",
                       [&](Use& u) {
                         u.bind(1, before_ms);
                         u.bind(2, limit);
                       });
  return impl_->rows(std::string("SELECT ") + kSegmentColumns +
                         " FROM segments WHERE start_ms < ?1 AND start_ms >= ?3 AND (start_ms, track, msn) > (?3, ?4, ?5)"
                         " ORDER BY start_ms, track, msn LIMIT ?2",
                     [&](Use& u) {
                       u.bind(1, before_ms);
                       u.bind(2, limit);
                       u.bind(3, after->start_ms);
                       u.bind(4, after->track);
                       u.bind(5, after->msn);
                     });
}

Result<std::vector<SegmentRow>> Index::all(const std::string& track) const {
  std::lock_guard lk(impl_->mu);
  return impl_->rows(std::string("SELECT ") + kSegmentColumns + " FROM segments WHERE track = ?1 ORDER BY msn",
                     [&](Use& u) { u.bind(1, track); });
}

Result<int64_t> Index::count() const {
  std::lock_guard lk(impl_->mu);
  return impl_->scalar("SELECT count(*) FROM segments");
}

Result<bool> Index::init_used(const std::string& init) const {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(int64_t n, impl_->scalar("SELECT count(*) FROM (SELECT 1 FROM segments WHERE init = ?1 LIMIT 1)",
                                                  [&](Use& u) { u.bind(1, init); }));
  return n > 0;
}

Result<std::string> Index::meta(const std::string& key) const {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->prepare("SELECT value FROM meta WHERE key = ?1"));
  Use u(s);
  u.bind(1, key);
  int rc = u.step();
  if (rc == SQLITE_ROW) return u.text(0);
  if (rc == SQLITE_DONE) return std::string();
  return impl_->error("read meta " + key, rc);
}

Status Index::set_meta(const std::string& key, const std::string& value) {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)"));
  Use u(s);
  u.bind(1, key);
  u.bind(2, value);
  int rc = u.step();
  if (rc != SQLITE_DONE) return impl_->error("write meta " + key, rc);
  return {};
}

}  // namespace sigma::dvr

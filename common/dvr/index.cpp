// The archive index on common/db (the one owner of sqlite3): WAL with a
// busy timeout so that the origin reads while sigma-dvr writes, cached
// statements, and every write of several rows in one transaction.
#include "dvr/index.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>

#include "base/fs.h"
#include "db/db.h"

namespace sigma::dvr {
namespace {

constexpr int kSchemaVersion = 1;

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

SegmentRow read_row(const db::Query& u) {
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
  std::unique_ptr<db::Db> db;
  // One connection, used by one caller at a time: the origin may share an
  // Index between its threads.
  mutable std::mutex mu;

  Status insert_locked(const SegmentRow& r) {
    SIGMA_ASSIGN_OR_RETURN(db::Query u, db->query(std::string("INSERT OR REPLACE INTO segments(") + kSegmentColumns +
                                                  ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"));
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
    return u.run("insert " + r.uri);
  }

  Status remove_locked(const std::string& track, int64_t msn) {
    SIGMA_ASSIGN_OR_RETURN(db::Query u, db->query("DELETE FROM segments WHERE track = ?1 AND msn = ?2"));
    u.bind(1, track);
    u.bind(2, msn);
    return u.run("delete");
  }

  template <class F>
  Status transaction(F&& body) {
    return db::in_transaction(*db, std::forward<F>(body));
  }

  Result<std::vector<SegmentRow>> rows(const std::string& sql, const std::function<void(db::Query&)>& bind) const {
    SIGMA_ASSIGN_OR_RETURN(db::Query u, db->query(sql));
    bind(u);
    std::vector<SegmentRow> out;
    while (true) {
      SIGMA_ASSIGN_OR_RETURN(bool row, u.step());
      if (!row) break;
      out.push_back(read_row(u));
    }
    return out;
  }

  Result<int64_t> scalar(const std::string& sql, const std::function<void(db::Query&)>& bind = {}) const {
    SIGMA_ASSIGN_OR_RETURN(db::Query u, db->query(sql));
    if (bind) bind(u);
    SIGMA_ASSIGN_OR_RETURN(bool row, u.step());
    if (row) return u.i64(0);
    return int64_t{0};
  }

  Status check_schema() {
    // meta may be missing in a read-only open of a database that was never
    // initialised: that is a foreign file.
    SIGMA_ASSIGN_OR_RETURN(bool has_meta, db->has_table("meta"));
    if (!has_meta) return data_error("index " + path + ": not a sigma-dvr index (no meta table)");
    SIGMA_ASSIGN_OR_RETURN(db::Query u, db->query("SELECT value FROM meta WHERE key = 'schema'"));
    SIGMA_ASSIGN_OR_RETURN(bool row, u.step("read schema version"));
    if (!row) return data_error("index " + path + ": not a sigma-dvr index (no schema version)");
    std::string v = u.text(0);
    if (v != std::to_string(kSchemaVersion))
      return data_error("index " + path + ": schema version " + v + ", this sigma-dvr reads version " +
                        std::to_string(kSchemaVersion));
    return {};
  }

  Status create_schema() {
    return transaction([&]() -> Status {
      SIGMA_RETURN_IF_ERROR(db->exec(kSchemaSql));
      SIGMA_ASSIGN_OR_RETURN(db::Query u, db->query("INSERT OR IGNORE INTO meta(key, value) VALUES('schema', ?1)"));
      u.bind(1, std::to_string(kSchemaVersion));
      SIGMA_RETURN_IF_ERROR(u.run("write schema version"));
      return db->set_user_version(1);
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
  if (mode == Mode::kReadWrite) {
    SIGMA_RETURN_IF_ERROR(make_dirs(channel_dir + "/.dvr"));
  } else {
    if (::stat(impl->path.c_str(), &st) != 0) {
      int e = errno;
      return Status(ExitCode::kSystem, "index " + impl->path + ": " + std::strerror(e) +
                                           (e == ENOENT ? " (no archive: is sigma-dvr run on this channel?)" : ""));
    }
  }
  db::OpenOptions o;
  o.mode = mode == Mode::kReadWrite ? db::Mode::kReadWrite : db::Mode::kReadOnly;
  o.label = "index";
  o.corrupt_hint = "(the index is damaged: move it away and restart sigma-dvr to rebuild it)";
  // WAL, synchronous NORMAL and a persistent -wal/-shm (so that a
  // read-only connection opens the database) are db's defaults.
  SIGMA_ASSIGN_OR_RETURN(impl->db, db::Db::open(impl->path, o));
  if (mode == Mode::kReadWrite) {
    SIGMA_ASSIGN_OR_RETURN(int64_t has_meta,
                           impl->scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"));
    SIGMA_ASSIGN_OR_RETURN(int64_t tables, impl->scalar("SELECT count(*) FROM sqlite_master"));
    if (!has_meta && tables > 0)
      return data_error("index " + impl->path + ": not a sigma-dvr index (tables but no meta)");
    if (!has_meta) SIGMA_RETURN_IF_ERROR(impl->create_schema());
    SIGMA_RETURN_IF_ERROR(impl->check_schema());
    // Later versions of the code may add indexes; IF NOT EXISTS is cheap.
    SIGMA_RETURN_IF_ERROR(impl->db->exec(kSchemaSql));
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
      db::Query u, impl_->db->query("INSERT OR REPLACE INTO keeps(name, from_ms, to_ms, created_ms) VALUES(?1,?2,?3,?4)"));
  u.bind(1, k.name);
  u.bind(2, k.from_ms);
  u.bind(3, k.to_ms);
  u.bind(4, k.created_ms);
  SIGMA_RETURN_IF_ERROR(u.run("add keep " + k.name));
  return {};
}

Status Index::drop_keep(const std::string& name) {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(db::Query u, impl_->db->query("DELETE FROM keeps WHERE name = ?1"));
  u.bind(1, name);
  SIGMA_RETURN_IF_ERROR(u.run("remove keep " + name));
  if (impl_->db->changes() == 0) return usage_error("no keep named '" + name + "'");
  return {};
}

Result<std::vector<std::string>> Index::tracks() const {
  std::lock_guard lk(impl_->mu);
  // DISTINCT over the primary key's first column walks the index.
  SIGMA_ASSIGN_OR_RETURN(db::Query u, impl_->db->query("SELECT DISTINCT track FROM segments ORDER BY track"));
  std::vector<std::string> out;
  while (true) {
    SIGMA_ASSIGN_OR_RETURN(bool row, u.step("list tracks"));
    if (!row) break;
    out.push_back(u.text(0));
  }
  return out;
}

Result<std::vector<SegmentRow>> Index::segments(const std::string& track, int64_t from_ms, int64_t to_ms) const {
  std::lock_guard lk(impl_->mu);
  // The lower bound on start_ms (from minus the track's longest segment)
  // lets segments_by_time narrow the scan at both ends.
  SIGMA_ASSIGN_OR_RETURN(int64_t longest,
                         impl_->scalar("SELECT max(duration_ms) FROM segments WHERE track = ?1",  // NULL reads as 0
                                       [&](db::Query& u) { u.bind(1, track); }));
  return impl_->rows(std::string("SELECT ") + kSegmentColumns +
                         " FROM segments WHERE track = ?1 AND start_ms < ?3 AND start_ms >= ?4"
                         " AND start_ms + duration_ms > ?2 ORDER BY msn",
                     [&](db::Query& u) {
                       u.bind(1, track);
                       u.bind(2, from_ms);
                       u.bind(3, to_ms);
                       u.bind(4, from_ms - longest - 1);
                     });
}

Result<std::vector<Keep>> Index::keeps() const {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(db::Query u,
                         impl_->db->query("SELECT name, from_ms, to_ms, created_ms FROM keeps ORDER BY from_ms, name"));
  std::vector<Keep> out;
  while (true) {
    SIGMA_ASSIGN_OR_RETURN(bool row, u.step("list keeps"));
    if (!row) break;
    out.push_back(Keep{u.text(0), u.i64(1), u.i64(2), u.i64(3)});
  }
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
  SIGMA_ASSIGN_OR_RETURN(db::Query u, impl_->db->query(sql));
  if (!track.empty()) u.bind(1, track);
  RangeBuilder b;
  // For the channel, a gap of one track is not a hole when another track
  // covers the time: only missing time splits the channel's ranges.
  while (true) {
    SIGMA_ASSIGN_OR_RETURN(bool row, u.step("ranges"));
    if (!row) break;
    bool gap = u.i64(3) != 0;
    if (track.empty() && gap) continue;
    b.add(u.i64(0), u.i64(0) + u.i64(1), u.i64(2), gap);
  }
  return b.finish();
}

Result<std::vector<SegmentRow>> Index::oldest(int64_t before_ms, int64_t limit, const SegmentRow* after) const {
  std::lock_guard lk(impl_->mu);
  if (!after)
    return impl_->rows(std::string("SELECT ") + kSegmentColumns +
                           " FROM segments WHERE start_ms < ?1 ORDER BY start_ms, track, msn LIMIT ?2",
                       [&](db::Query& u) {
                         u.bind(1, before_ms);
                         u.bind(2, limit);
                       });
  return impl_->rows(std::string("SELECT ") + kSegmentColumns +
                         " FROM segments WHERE start_ms < ?1 AND start_ms >= ?3 AND (start_ms, track, msn) > (?3, ?4, ?5)"
                         " ORDER BY start_ms, track, msn LIMIT ?2",
                     [&](db::Query& u) {
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
                     [&](db::Query& u) { u.bind(1, track); });
}

Result<int64_t> Index::count() const {
  std::lock_guard lk(impl_->mu);
  return impl_->scalar("SELECT count(*) FROM segments");
}

Result<bool> Index::init_used(const std::string& init) const {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(int64_t n, impl_->scalar("SELECT count(*) FROM (SELECT 1 FROM segments WHERE init = ?1 LIMIT 1)",
                                                  [&](db::Query& u) { u.bind(1, init); }));
  return n > 0;
}

Result<std::string> Index::meta(const std::string& key) const {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(db::Query u, impl_->db->query("SELECT value FROM meta WHERE key = ?1"));
  u.bind(1, key);
  SIGMA_ASSIGN_OR_RETURN(bool row, u.step("read meta " + key));
  if (row) return u.text(0);
  return std::string();
}

Status Index::set_meta(const std::string& key, const std::string& value) {
  std::lock_guard lk(impl_->mu);
  SIGMA_ASSIGN_OR_RETURN(db::Query u, impl_->db->query("INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)"));
  u.bind(1, key);
  u.bind(2, value);
  SIGMA_RETURN_IF_ERROR(u.run("write meta " + key));
  return {};
}

}  // namespace sigma::dvr

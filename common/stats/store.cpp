#include "stats/store.h"

#include <cstring>

#include "db/db.h"

namespace sigma::stats {
namespace {

constexpr int kSchemaVersion = 1;

const char* const kSchemaSql = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS channels(name TEXT PRIMARY KEY, timeout_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(
  id INTEGER PRIMARY KEY, channel TEXT NOT NULL, source TEXT NOT NULL,
  key_a INTEGER NOT NULL, key_b INTEGER NOT NULL,
  first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, last_media_ms INTEGER NOT NULL,
  watch_ms INTEGER NOT NULL, view INTEGER NOT NULL, open INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_open ON sessions(open) WHERE open = 1;
CREATE INDEX IF NOT EXISTS sessions_by_time ON sessions(channel, first_ms);
CREATE TABLE IF NOT EXISTS series(
  minute INTEGER NOT NULL, channel TEXT NOT NULL, metric TEXT NOT NULL, label TEXT NOT NULL,
  value INTEGER NOT NULL, PRIMARY KEY(minute, channel, metric, label)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uniques(
  day INTEGER NOT NULL, channel TEXT NOT NULL, viewer INTEGER NOT NULL,
  PRIMARY KEY(day, channel, viewer)) WITHOUT ROWID;
)SQL";

int64_t as_i64(uint64_t v) {
  int64_t r;
  std::memcpy(&r, &v, sizeof r);
  return r;
}
uint64_t as_u64(int64_t v) {
  uint64_t r;
  std::memcpy(&r, &v, sizeof r);
  return r;
}

Source source_of(const std::string& s) {
  if (s == "path") return Source::kPath;
  if (s == "cmcd") return Source::kCmcd;
  if (s == "token") return Source::kToken;
  return Source::kFallback;
}

Metric metric_of(const std::string& s, bool& ok) {
  ok = true;
  for (Metric m : {Metric::kRequests, Metric::kBytes, Metric::kViews, Metric::kWatchMs, Metric::kSessions,
                   Metric::kFallbackSessions})
    if (s == metric_name(m)) return m;
  ok = false;
  return Metric::kRequests;
}

}  // namespace

Store::Store(std::unique_ptr<db::Db> db) : db_(std::move(db)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& path, bool read_only) {
  db::OpenOptions o;
  o.mode = read_only ? db::Mode::kReadOnly : db::Mode::kReadWrite;
  o.label = "state";
  o.corrupt_hint = "(the state is damaged: move it away; sigma-stats then counts the log again from its start)";
  SIGMA_ASSIGN_OR_RETURN(auto d, db::Db::open(path, o));
  std::unique_ptr<Store> s(new Store(std::move(d)));
  SIGMA_ASSIGN_OR_RETURN(int64_t v, s->db_->user_version());
  SIGMA_ASSIGN_OR_RETURN(bool has_series, s->db_->has_table("series"));
  if (read_only) {
    if (v != kSchemaVersion || !has_series)
      return data_error("state " + path + ": not a sigma-stats state (schema version " + std::to_string(v) + ")");
    return s;
  }
  if (v == 0) {
    SIGMA_ASSIGN_OR_RETURN(int64_t tables, s->db_->scalar("SELECT count(*) FROM sqlite_master"));
    if (tables > 0) return data_error("state " + path + ": not a sigma-stats state (tables but no version)");
    SIGMA_RETURN_IF_ERROR(db::in_transaction(*s->db_, [&]() -> Status {
      SIGMA_RETURN_IF_ERROR(s->db_->exec(kSchemaSql, "create schema"));
      return s->db_->set_user_version(kSchemaVersion);
    }));
  } else if (v != kSchemaVersion || !has_series) {
    return data_error("state " + path + ": not a sigma-stats state of schema version " + std::to_string(kSchemaVersion) +
                      " (version " + std::to_string(v) + ")");
  }
  return s;
}

Status Store::restore(Engine& e, Position& pos, LineCounts& c) {
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("SELECT key, value FROM meta"));
    for (;;) {
      SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read meta"));
      if (!row) break;
      std::string k = q.text(0);
      if (k == "spec") pos.spec = q.text(1);
      else if (k == "inode") pos.inode = static_cast<uint64_t>(q.i64(1));
      else if (k == "offset") pos.offset = static_cast<uint64_t>(q.i64(1));
      else if (k == "watermark") e.restore_watermark(q.i64(1));
      else if (k == "next_id") e.restore_next_id(q.i64(1));
      else if (k == "lines_ok") c.ok = q.i64(1);
      else if (k == "lines_garbage") c.garbage = q.i64(1);
      else if (k == "lines_future") c.future = q.i64(1);
      else if (k == "lines_past") c.past = q.i64(1);
      else if (k == "log_resets") c.resets = q.i64(1);
    }
  }
  std::map<std::string, uint32_t> chan;
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("SELECT name, timeout_ms FROM channels ORDER BY rowid"));
    for (;;) {
      SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read channels"));
      if (!row) break;
      e.restore_channel(q.text(0), q.i64(1));
    }
    auto names = e.channels();
    for (uint32_t i = 0; i < names.size(); ++i) chan[names[i]] = i;
  }
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query(
        "SELECT id, channel, source, key_a, key_b, first_ms, last_ms, last_media_ms, watch_ms, view "
        "FROM sessions WHERE open = 1"));
    for (;;) {
      SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read sessions"));
      if (!row) break;
      auto it = chan.find(q.text(1));
      if (it == chan.end()) continue;
      SessionRow r;
      r.s.id = q.i64(0);
      r.s.channel = it->second;
      r.s.source = source_of(q.text(2));
      r.key = {as_u64(q.i64(3)), as_u64(q.i64(4))};
      r.s.first_ms = q.i64(5);
      r.s.last_ms = q.i64(6);
      r.s.last_media_ms = q.i64(7);
      r.s.watch_ms = q.i64(8);
      r.s.view = q.i64(9) != 0;
      e.restore_session(r);
    }
  }
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query(
        "SELECT channel, metric, label, sum(value) FROM series GROUP BY channel, metric, label"));
    for (;;) {
      SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read totals"));
      if (!row) break;
      bool ok = false;
      Metric m = metric_of(q.text(1), ok);
      if (ok) e.restore_total(q.text(0), m, q.text(2), q.i64(3));
    }
  }
  return {};
}

Status Store::commit(const Engine& e, const Engine::Batch& b, const Position& pos, const LineCounts& c) {
  return db::in_transaction(*db_, [&]() -> Status {
    for (const auto& [name, t] : b.new_channels) {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("INSERT OR IGNORE INTO channels(name, timeout_ms) VALUES(?1, ?2)"));
      SIGMA_RETURN_IF_ERROR(q.bind(1, name).bind(2, t).run("add channel"));
    }
    for (const auto& r : b.sessions) {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query(
          "INSERT OR REPLACE INTO sessions(id, channel, source, key_a, key_b, first_ms, last_ms, last_media_ms, "
          "watch_ms, view, open) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
      q.bind(1, r.s.id).bind(2, e.channel_name(r.s.channel)).bind(3, source_name(r.s.source));
      q.bind(4, as_i64(r.key.a)).bind(5, as_i64(r.key.b)).bind(6, r.s.first_ms).bind(7, r.s.last_ms);
      q.bind(8, r.s.last_media_ms).bind(9, r.s.watch_ms).bind(10, int64_t{r.s.view}).bind(11, int64_t{r.open});
      SIGMA_RETURN_IF_ERROR(q.run("write session"));
    }
    for (const auto& [k, v] : b.series) {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query(
          "INSERT INTO series(minute, channel, metric, label, value) VALUES(?1, ?2, ?3, ?4, ?5) "
          "ON CONFLICT(minute, channel, metric, label) DO UPDATE SET value = value + excluded.value"));
      q.bind(1, k.minute).bind(2, e.channel_name(k.channel)).bind(3, metric_name(k.metric));
      q.bind(4, e.label_text(k.metric, k.label)).bind(5, v);
      SIGMA_RETURN_IF_ERROR(q.run("write series"));
    }
    for (const auto& u : b.uniques) {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("INSERT OR IGNORE INTO uniques(day, channel, viewer) VALUES(?1, ?2, ?3)"));
      SIGMA_RETURN_IF_ERROR(q.bind(1, u.day).bind(2, e.channel_name(u.channel)).bind(3, as_i64(u.viewer)).run("write viewer"));
    }
    auto put = [&](const char* k, int64_t v) -> Status {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)"));
      return q.bind(1, k).bind(2, v).run("write meta");
    };
    {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("INSERT OR REPLACE INTO meta(key, value) VALUES('spec', ?1)"));
      SIGMA_RETURN_IF_ERROR(q.bind(1, pos.spec).run("write meta"));
    }
    SIGMA_RETURN_IF_ERROR(put("inode", static_cast<int64_t>(pos.inode)));
    SIGMA_RETURN_IF_ERROR(put("offset", static_cast<int64_t>(pos.offset)));
    SIGMA_RETURN_IF_ERROR(put("watermark", b.watermark));
    SIGMA_RETURN_IF_ERROR(put("next_id", b.next_id));
    SIGMA_RETURN_IF_ERROR(put("lines_ok", c.ok));
    SIGMA_RETURN_IF_ERROR(put("lines_garbage", c.garbage));
    SIGMA_RETURN_IF_ERROR(put("lines_future", c.future));
    SIGMA_RETURN_IF_ERROR(put("lines_past", c.past));
    return put("log_resets", c.resets);
  });
}

Result<std::map<std::string, int64_t>> Store::sum_since(const std::string& metric, int64_t from_minute) {
  std::map<std::string, int64_t> out;
  SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query(
      "SELECT channel, sum(value) FROM series WHERE minute >= ?1 AND metric = ?2 GROUP BY channel"));
  q.bind(1, from_minute).bind(2, metric);
  for (;;) {
    SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read series"));
    if (!row) break;
    out[q.text(0)] = q.i64(1);
  }
  return out;
}

}  // namespace sigma::stats

#include "hook/store.h"

#include "db/db.h"

namespace sigma::hook {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int64_t kSeenMs = 24 * 3600 * 1000LL;  // how long an event id is remembered

const char* const kSchemaSql = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS positions(spec TEXT PRIMARY KEY, inode INTEGER NOT NULL, offset INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  sub TEXT NOT NULL,
  channel TEXT NOT NULL,
  event_id TEXT NOT NULL,
  body TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS outbox_by_channel ON outbox(sub, channel, seq);
-- What each subscription has taken from the events files in the last day:
-- the supervisor writes a channel's own events to the global file and to
-- the channel's file (one id in both), and sigma-hook follows both.
CREATE TABLE IF NOT EXISTS seen(sub TEXT NOT NULL, event_id TEXT NOT NULL, ms INTEGER NOT NULL,
  PRIMARY KEY(sub, event_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_by_age ON seen(ms);
CREATE TABLE IF NOT EXISTS dead(
  seq INTEGER PRIMARY KEY, sub TEXT NOT NULL, channel TEXT NOT NULL, event_id TEXT NOT NULL, body TEXT NOT NULL,
  created_ms INTEGER NOT NULL, failed_ms INTEGER NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subs(
  name TEXT PRIMARY KEY,
  delivered INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  disabled_target TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  last_error_ms INTEGER NOT NULL DEFAULT 0,
  last_success_ms INTEGER NOT NULL DEFAULT 0,
  alert_since_ms INTEGER NOT NULL DEFAULT 0,
  disabled_since_ms INTEGER NOT NULL DEFAULT 0);
)SQL";

}  // namespace

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& path, bool read_only) {
  std::unique_ptr<Store> s(new Store());
  db::OpenOptions o;
  o.mode = read_only ? db::Mode::kReadOnly : db::Mode::kReadWrite;
  o.label = "state";
  o.corrupt_hint = "(the state is damaged: move it away; sigma-hook then starts over from the events files' ends)";
  // synchronous NORMAL: a power loss may roll back the last commits, but
  // position and outbox roll back together, so events are re-read, not lost.
  SIGMA_ASSIGN_OR_RETURN(s->db_, db::Db::open(path, o));
  SIGMA_ASSIGN_OR_RETURN(int64_t v, s->db_->user_version());
  if (read_only) {
    if (v != kSchemaVersion)
      return data_error("state " + path + ": not a sigma-hook state (schema version " + std::to_string(v) + ")");
    return s;
  }
  if (v == 0) {
    SIGMA_ASSIGN_OR_RETURN(int64_t tables, s->db_->scalar("SELECT count(*) FROM sqlite_master"));
    if (tables > 0) return data_error("state " + path + ": not a sigma-hook state (tables but no version)");
    SIGMA_RETURN_IF_ERROR(db::in_transaction(*s->db_, [&]() -> Status {
      SIGMA_RETURN_IF_ERROR(s->db_->exec(kSchemaSql, "create schema"));
      return s->db_->set_user_version(kSchemaVersion);
    }));
  } else if (v != kSchemaVersion) {
    return data_error("state " + path + ": schema version " + std::to_string(v) + ", this sigma-hook reads version " +
                      std::to_string(kSchemaVersion));
  }
  return s;
}

Status Store::ensure_sub(const std::string& sub) {
  SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("INSERT OR IGNORE INTO subs(name) VALUES(?1)"));
  q.bind(1, sub);
  return q.run("add subscription");
}

Result<std::pair<uint64_t, uint64_t>> Store::position(const std::string& spec) {
  SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("SELECT inode, offset FROM positions WHERE spec = ?1"));
  q.bind(1, spec);
  SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read position"));
  if (!row) return std::pair<uint64_t, uint64_t>(0, 0);
  return std::pair<uint64_t, uint64_t>(static_cast<uint64_t>(q.i64(0)), static_cast<uint64_t>(q.i64(1)));
}

Status Store::enqueue(const std::vector<NewRow>& rows, const std::string& spec, uint64_t inode, uint64_t offset,
                      int64_t garbage, int64_t now_ms) {
  return db::in_transaction(*db_, [&]() -> Status {
    // From a followed file (spec set), an event a subscription already took
    // from another file is a copy: skipped. A replay (no spec) sends again.
    if (!spec.empty() && !rows.empty()) {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("DELETE FROM seen WHERE ms < ?1"));
      q.bind(1, now_ms - kSeenMs);
      SIGMA_RETURN_IF_ERROR(q.run("forget old event ids"));
    }
    for (const auto& r : rows) {
      if (!spec.empty() && !r.event_id.empty()) {
        SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("INSERT OR IGNORE INTO seen(sub, event_id, ms) VALUES(?1,?2,?3)"));
        q.bind(1, r.sub).bind(2, r.event_id).bind(3, now_ms);
        SIGMA_RETURN_IF_ERROR(q.run("note event id"));
        if (db_->changes() == 0) continue;
      }
      SIGMA_ASSIGN_OR_RETURN(
          db::Query q, db_->query("INSERT INTO outbox(sub, channel, event_id, body, created_ms) VALUES(?1,?2,?3,?4,?5)"));
      q.bind(1, r.sub).bind(2, r.channel).bind(3, r.event_id).bind(4, r.body).bind(5, now_ms);
      SIGMA_RETURN_IF_ERROR(q.run("enqueue"));
    }
    if (!spec.empty()) {
      SIGMA_ASSIGN_OR_RETURN(db::Query q,
                             db_->query("INSERT OR REPLACE INTO positions(spec, inode, offset) VALUES(?1,?2,?3)"));
      q.bind(1, spec).bind(2, static_cast<int64_t>(inode)).bind(3, static_cast<int64_t>(offset));
      SIGMA_RETURN_IF_ERROR(q.run("save position"));
    }
    if (garbage > 0) {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("INSERT INTO meta(key, value) VALUES('garbage', ?1) "
                                                     "ON CONFLICT(key) DO UPDATE SET value = value + ?1"));
      q.bind(1, garbage);
      SIGMA_RETURN_IF_ERROR(q.run("count garbage"));
    }
    return {};
  });
}

Result<std::vector<std::pair<std::string, std::string>>> Store::channels() {
  SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("SELECT DISTINCT sub, channel FROM outbox"));
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    SIGMA_ASSIGN_OR_RETURN(bool row, q.step("list channels"));
    if (!row) break;
    out.emplace_back(q.text(0), q.text(1));
  }
  return out;
}

Result<std::optional<OutRow>> Store::head(const std::string& sub, const std::string& channel) {
  SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("SELECT seq, event_id, body, created_ms, attempts, next_ms FROM outbox "
                                                 "WHERE sub = ?1 AND channel = ?2 ORDER BY seq LIMIT 1"));
  q.bind(1, sub).bind(2, channel);
  SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read outbox"));
  if (!row) return std::optional<OutRow>();
  OutRow r;
  r.seq = q.i64(0);
  r.sub = sub;
  r.channel = channel;
  r.event_id = q.text(1);
  r.body = q.text(2);
  r.created_ms = q.i64(3);
  r.attempts = q.i64(4);
  r.next_ms = q.i64(5);
  return std::optional<OutRow>(std::move(r));
}

Status Store::finish(const std::vector<Finished>& done, int64_t now_ms) {
  if (done.empty()) return {};
  return db::in_transaction(*db_, [&]() -> Status {
    for (const auto& f : done) {
      SIGMA_RETURN_IF_ERROR(ensure_sub(f.sub));
      switch (f.outcome) {
        case Outcome::kDelivered: {
          SIGMA_ASSIGN_OR_RETURN(db::Query d, db_->query("DELETE FROM outbox WHERE seq = ?1"));
          d.bind(1, f.seq);
          SIGMA_RETURN_IF_ERROR(d.run("delete delivered"));
          SIGMA_ASSIGN_OR_RETURN(db::Query u, db_->query("UPDATE subs SET delivered = delivered + 1, "
                                                         "last_success_ms = ?2 WHERE name = ?1"));
          u.bind(1, f.sub).bind(2, now_ms);
          SIGMA_RETURN_IF_ERROR(u.run("count delivered"));
          break;
        }
        case Outcome::kRetry: {
          SIGMA_ASSIGN_OR_RETURN(db::Query u, db_->query("UPDATE outbox SET attempts = attempts + 1, next_ms = ?2, "
                                                         "last_error = ?3 WHERE seq = ?1"));
          u.bind(1, f.seq).bind(2, f.next_ms).bind(3, f.error);
          SIGMA_RETURN_IF_ERROR(u.run("schedule retry"));
          SIGMA_ASSIGN_OR_RETURN(db::Query s, db_->query("UPDATE subs SET last_error = ?2, last_error_ms = ?3 "
                                                         "WHERE name = ?1"));
          s.bind(1, f.sub).bind(2, f.error).bind(3, now_ms);
          SIGMA_RETURN_IF_ERROR(s.run("record error"));
          break;
        }
        case Outcome::kFailed:
        case Outcome::kGone: {
          SIGMA_ASSIGN_OR_RETURN(
              db::Query m, db_->query("INSERT OR REPLACE INTO dead(seq, sub, channel, event_id, body, created_ms, "
                                      "failed_ms, attempts, error) SELECT seq, sub, channel, event_id, body, "
                                      "created_ms, ?2, attempts + 1, ?3 FROM outbox WHERE seq = ?1"));
          m.bind(1, f.seq).bind(2, now_ms).bind(3, f.error);
          SIGMA_RETURN_IF_ERROR(m.run("dead-letter"));
          SIGMA_ASSIGN_OR_RETURN(db::Query d, db_->query("DELETE FROM outbox WHERE seq = ?1"));
          d.bind(1, f.seq);
          SIGMA_RETURN_IF_ERROR(d.run("dead-letter"));
          SIGMA_ASSIGN_OR_RETURN(db::Query s, db_->query("UPDATE subs SET failed = failed + 1, last_error = ?2, "
                                                         "last_error_ms = ?3 WHERE name = ?1"));
          s.bind(1, f.sub).bind(2, f.error).bind(3, now_ms);
          SIGMA_RETURN_IF_ERROR(s.run("record failure"));
          if (f.outcome == Outcome::kGone) {
            SIGMA_ASSIGN_OR_RETURN(db::Query g, db_->query("UPDATE subs SET disabled = 1, disabled_target = ?2, "
                                                           "disabled_since_ms = ?3 WHERE name = ?1"));
            g.bind(1, f.sub).bind(2, f.target).bind(3, now_ms);
            SIGMA_RETURN_IF_ERROR(g.run("disable"));
          }
          break;
        }
      }
    }
    return {};
  });
}

Status Store::set_alert_since(const std::string& sub, int64_t since_ms) {
  SIGMA_RETURN_IF_ERROR(ensure_sub(sub));
  SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("UPDATE subs SET alert_since_ms = ?2 WHERE name = ?1"));
  q.bind(1, sub).bind(2, since_ms);
  return q.run("record alert");
}

Status Store::enable(const std::string& sub) {
  SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("UPDATE subs SET disabled = 0, disabled_target = '', "
                                                 "disabled_since_ms = 0 WHERE name = ?1"));
  q.bind(1, sub);
  return q.run("enable");
}

Result<SubStatus> Store::sub_status(const std::string& sub) {
  SubStatus s;
  s.name = sub;
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("SELECT delivered, failed, disabled, disabled_target, last_error, "
                                                   "last_error_ms, last_success_ms, alert_since_ms, disabled_since_ms "
                                                   "FROM subs WHERE name = ?1"));
    q.bind(1, sub);
    SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read status"));
    if (row) {
      s.delivered = q.i64(0);
      s.failed = q.i64(1);
      s.disabled = q.i64(2) != 0;
      s.disabled_target = q.text(3);
      s.last_error = q.text(4);
      s.last_error_ms = q.i64(5);
      s.last_success_ms = q.i64(6);
      s.alert_since_ms = q.i64(7);
      s.disabled_since_ms = q.i64(8);
    }
  }
  SIGMA_ASSIGN_OR_RETURN(db::Query p, db_->query("SELECT count(*), coalesce(sum(attempts > 0), 0), "
                                                 "coalesce(min(CASE WHEN attempts > 0 THEN next_ms END), 0) "
                                                 "FROM outbox WHERE sub = ?1"));
  p.bind(1, sub);
  SIGMA_ASSIGN_OR_RETURN(bool row, p.step("count pending"));
  if (row) {
    s.pending = p.i64(0);
    s.retrying = p.i64(1);
    s.next_retry_ms = p.i64(2);
  }
  return s;
}

Result<std::vector<SubStatus>> Store::status() {
  std::vector<std::string> names;
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, db_->query("SELECT name FROM subs UNION SELECT DISTINCT sub FROM outbox "
                                                   "ORDER BY 1"));
    while (true) {
      SIGMA_ASSIGN_OR_RETURN(bool row, q.step("list subscriptions"));
      if (!row) break;
      names.push_back(q.text(0));
    }
  }
  std::vector<SubStatus> out;
  for (const auto& n : names) {
    SIGMA_ASSIGN_OR_RETURN(SubStatus s, sub_status(n));
    out.push_back(std::move(s));
  }
  return out;
}

Result<int64_t> Store::garbage() { return db_->scalar("SELECT coalesce((SELECT value FROM meta WHERE key = 'garbage'), 0)"); }

Result<int64_t> Store::data_version() { return db_->scalar("PRAGMA data_version"); }

}  // namespace sigma::hook

// The one place in Sigma that includes sqlite3.h.
#include "db/db.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace sigma::db {

struct Db::Cache {
  std::map<std::string, sqlite3_stmt*, std::less<>> stmts;
  ~Cache() {
    for (auto& [sql, s] : stmts) sqlite3_finalize(s);
  }
};

Query::~Query() {
  if (s_) {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

Query& Query::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}

Query& Query::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Query& Query::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

Result<bool> Query::step(const std::string& what) {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->error(what, rc);
}

Status Query::run(const std::string& what) {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return {};
  return db_->error(what, rc);
}

int64_t Query::i64(int c) const { return sqlite3_column_int64(s_, c); }

std::string Query::text(int c) const {
  const unsigned char* t = sqlite3_column_text(s_, c);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, c)))
           : std::string();
}

bool Query::is_null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }

Db::~Db() {
  cache_.reset();
  if (db_) sqlite3_close_v2(db_);
}

Status Db::error(const std::string& what, int rc) const {
  std::string msg = opts_.label + " " + path_ + ": " + (what.empty() ? "" : what + ": ") +
                    (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
    return data_error(opts_.corrupt_hint.empty() ? msg : msg + " " + opts_.corrupt_hint);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_IOERR || primary == SQLITE_FULL ||
      primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_PERM)
    return system_error(msg);
  return internal_error(msg);
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, const OpenOptions& opts) {
  std::unique_ptr<Db> d(new Db());
  d->path_ = path;
  d->opts_ = opts;
  d->cache_ = std::make_unique<Cache>();
  int flags = SQLITE_OPEN_NOMUTEX;
  if (opts.mode == Mode::kReadWrite) {
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno_error(opts.label + " " + path, errno);
    flags |= SQLITE_OPEN_READONLY;
  }
  int rc = sqlite3_open_v2(path.c_str(), &d->db_, flags, nullptr);
  if (rc != SQLITE_OK) return d->error("open", rc);
  sqlite3_extended_result_codes(d->db_, 1);
  sqlite3_busy_timeout(d->db_, opts.busy_timeout_ms);
  if (opts.mode == Mode::kReadWrite) {
    // The first statement reads the header: a file that is not a database
    // fails here, before anything is written to it.
    SIGMA_RETURN_IF_ERROR(d->exec("PRAGMA journal_mode = WAL"));
    SIGMA_RETURN_IF_ERROR(d->exec("PRAGMA synchronous = " + opts.synchronous));
    if (opts.persist_wal) {
      int persist = 1;
      sqlite3_file_control(d->db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    }
  }
  return d;
}

Status Db::exec(const std::string& sql, const std::string& what) const {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(what, rc);
  return {};
}

Result<Query> Db::query(const std::string& sql) const {
  auto it = cache_->stmts.find(sql);
  if (it != cache_->stmts.end()) return Query(this, it->second);
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    return error("prepare", rc);
  }
  cache_->stmts.emplace(sql, s);
  return Query(this, s);
}

Result<int64_t> Db::scalar(const std::string& sql) const {
  SIGMA_ASSIGN_OR_RETURN(Query q, query(sql));
  SIGMA_ASSIGN_OR_RETURN(bool row, q.step());
  return row ? q.i64(0) : int64_t{0};
}

Result<bool> Db::has_table(const std::string& name) const {
  SIGMA_ASSIGN_OR_RETURN(Query q, query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"));
  q.bind(1, name);
  SIGMA_ASSIGN_OR_RETURN(bool row, q.step());
  return row && q.i64(0) > 0;
}

int64_t Db::changes() const { return sqlite3_changes64(db_); }
int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

Result<int64_t> Db::user_version() const { return scalar("PRAGMA user_version"); }

Status Db::set_user_version(int64_t v) const { return exec("PRAGMA user_version = " + std::to_string(v)); }

Result<std::unique_ptr<Transaction>> Transaction::begin(const Db& db) {
  SIGMA_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (open_) (void)db_.exec("ROLLBACK");
}

Status Transaction::commit() {
  Status st = db_.exec("COMMIT");
  if (!st.is_ok()) (void)db_.exec("ROLLBACK");
  open_ = false;
  return st;
}

}  // namespace sigma::db

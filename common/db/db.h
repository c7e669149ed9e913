#pragma once
// SQLite for Sigma: this layer is the one owner of sqlite3 (the only
// place that includes sqlite3.h). A Db owns one connection; statements
// are prepared once per SQL text, cached, and reset (bindings cleared)
// when a Query ends. Writers run in WAL with a busy timeout, so readers
// in other processes (the origin reading sigma-dvr's index) never block
// the writer; several rows are written in one Transaction.
//
// Errors are Status: a damaged or foreign file is a data error (65), a
// file that cannot be opened, a busy or full disk is a system error (111),
// anything else (a bad statement) is internal (1). Messages read
// "<label> <path>: <what>: <sqlite message>".
//
// A Db is not thread-safe: callers that share one between threads hold a
// mutex around each use (dvr::Index does).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sigma::db {

enum class Mode { kReadOnly, kReadWrite };

struct OpenOptions {
  Mode mode = Mode::kReadWrite;  // kReadWrite creates the file if missing
  std::string label = "database";  // first word of every message: "index", "state"
  std::string corrupt_hint;        // appended to data errors: "(move it away ...)"
  int busy_timeout_ms = 5000;
  // Keep -wal and -shm when the writer closes, so that a read-only
  // connection (which may not create them) still opens the database.
  bool persist_wal = true;
  std::string synchronous = "NORMAL";  // PRAGMA synchronous in WAL: NORMAL or FULL
};

class Db;

// One use of a cached prepared statement: bind, step, read columns. The
// statement is reset and its bindings cleared when the Query goes away.
class Query {
 public:
  Query(Query&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  ~Query();

  Query& bind(int i, int64_t v);
  Query& bind(int i, std::string_view v);
  Query& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Query& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Query& bind_null(int i);

  // true: a row is there to read; false: done.
  Result<bool> step(const std::string& what = "query");
  // Steps a statement that returns no rows (INSERT, UPDATE, DELETE).
  Status run(const std::string& what = "write");

  int64_t i64(int c) const;
  std::string text(int c) const;
  bool is_null(int c) const;

 private:
  friend class Db;
  Query(const Db* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  const Db* db_;
  sqlite3_stmt* s_;
};

class Db {
 public:
  // kReadOnly of a missing file is a system error naming the file.
  static Result<std::unique_ptr<Db>> open(const std::string& path, const OpenOptions& opts = {});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  const std::string& path() const { return path_; }
  Mode mode() const { return opts_.mode; }

  // One or more statements without results (schema, pragmas).
  Status exec(const std::string& sql, const std::string& what = "") const;
  // The cached statement for sql, ready to bind.
  Result<Query> query(const std::string& sql) const;
  // First column of the first row; 0 when there is no row or it is NULL.
  Result<int64_t> scalar(const std::string& sql) const;
  Result<bool> has_table(const std::string& name) const;
  int64_t changes() const;
  int64_t last_insert_rowid() const;
  // PRAGMA user_version.
  Result<int64_t> user_version() const;
  Status set_user_version(int64_t v) const;

  // The Status for a sqlite result code, with this database's message.
  Status error(const std::string& what, int rc) const;

 private:
  struct Cache;
  Db() = default;
  std::string path_;
  OpenOptions opts_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Cache> cache_;
};

// BEGIN IMMEDIATE (the write lock at once, so a busy wait happens here,
// not at COMMIT); rolled back on destruction unless commit() succeeded.
class Transaction {
 public:
  static Result<std::unique_ptr<Transaction>> begin(const Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status commit();

 private:
  explicit Transaction(const Db& db) : db_(db) {}
  const Db& db_;
  bool open_ = true;
};

// Runs body in a transaction: committed when it returns ok, rolled back
// otherwise.
template <class F>
Status in_transaction(const Db& db, F&& body) {
  SIGMA_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db));
  SIGMA_RETURN_IF_ERROR(body());
  return tx->commit();
}

}  // namespace sigma::db

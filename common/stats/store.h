#pragma once
// sigma-stats's state (--state PATH, SQLite in WAL through common/db):
// sessions, per-minute counters, unique viewers per day and the read
// position of the access log, all moved in one transaction per batch, so
// a kill -9 re-reads at most the lines of the batch it lost and counts
// them once. Schema version 1:
//
//   meta(key TEXT PRIMARY KEY, value)   -- position (spec, inode, offset),
//        watermark, next_id, lines_ok, lines_garbage, lines_future, lines_past, log_resets
//   channels(name TEXT PRIMARY KEY, timeout_ms INTEGER)
//   sessions(id INTEGER PRIMARY KEY, channel TEXT, source TEXT, key_a, key_b,
//            first_ms, last_ms, last_media_ms, watch_ms, view, open)
//   series(minute, channel, metric, label, value)    -- PRIMARY KEY (minute, channel, metric, label)
//   uniques(day, channel, viewer)                    -- PRIMARY KEY, all three
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "stats/engine.h"

namespace sigma::db {
class Db;
}

namespace sigma::stats {

struct LineCounts {
  int64_t ok = 0, garbage = 0, future = 0, past = 0, resets = 0;
};

struct Position {
  std::string spec;
  uint64_t inode = 0, offset = 0;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& path, bool read_only = false);
  ~Store();

  // Channels, open sessions, watermark, totals into a new Engine.
  Status restore(Engine& e, Position& pos, LineCounts& counts);
  // One transaction: the batch, the counts and the position.
  Status commit(const Engine& e, const Engine::Batch& b, const Position& pos, const LineCounts& counts);

  // Sum of one metric per channel (label "" for all labels) since minute.
  Result<std::map<std::string, int64_t>> sum_since(const std::string& metric, int64_t from_minute);

  db::Db& db() { return *db_; }

 private:
  explicit Store(std::unique_ptr<db::Db> db);
  std::unique_ptr<db::Db> db_;
};

}  // namespace sigma::stats

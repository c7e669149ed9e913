#pragma once
// sigma-hook's state (--state PATH, SQLite in WAL through common/db):
// the read position in every events file and the outbox of deliveries,
// moved in one transaction, so that a kill -9 or a reboot loses nothing
// (a restart re-reads at most what was read but not yet committed, and
// re-sends at most what was in flight). Schema version 1:
//
//   positions(spec TEXT PRIMARY KEY, inode INTEGER, offset INTEGER)
//   outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- the order of events
//          sub TEXT, channel TEXT, event_id TEXT, body TEXT,
//          created_ms INTEGER, attempts INTEGER, next_ms INTEGER, last_error TEXT)
//   INDEX outbox_by_channel ON outbox(sub, channel, seq)
//   dead(seq, sub, channel, event_id, body, created_ms, failed_ms, attempts, error)
//          -- dead letters: permanent failures and those past max_age
//   subs(name TEXT PRIMARY KEY, delivered, failed, disabled, disabled_target,
//        last_error, last_error_ms, last_success_ms, alert_since_ms, disabled_since_ms)
//   meta(key TEXT PRIMARY KEY, value)               -- 'garbage': lines skipped
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sigma::db {
class Db;
}

namespace sigma::hook {

struct OutRow {
  int64_t seq = 0;
  std::string sub, channel, event_id, body;
  int64_t created_ms = 0, attempts = 0, next_ms = 0;
};

struct NewRow {
  std::string sub, channel, event_id, body;
};

enum class Outcome { kDelivered, kRetry, kFailed, kGone };

struct Finished {
  int64_t seq = 0;
  std::string sub;
  Outcome outcome = Outcome::kDelivered;
  int64_t next_ms = 0;  // kRetry
  std::string error;    // kRetry, kFailed, kGone: one line, no secret
  std::string target;   // kGone: the url (disabled until it changes)
};

struct SubStatus {
  std::string name;
  int64_t delivered = 0, pending = 0, retrying = 0, failed = 0;
  bool disabled = false;
  bool held = false;  // its secret cannot be read (status only: from the config)
  std::string disabled_target;
  std::string last_error;
  int64_t last_error_ms = 0, last_success_ms = 0, alert_since_ms = 0, disabled_since_ms = 0;
  int64_t next_retry_ms = 0;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& path, bool read_only = false);
  ~Store();

  // The saved read position of an events file ({0, 0} when none).
  Result<std::pair<uint64_t, uint64_t>> position(const std::string& spec);
  // One transaction: rows into the outbox, the position moved (spec ""
  // for an input without one), garbage lines counted.
  Status enqueue(const std::vector<NewRow>& rows, const std::string& spec, uint64_t inode, uint64_t offset,
                 int64_t garbage, int64_t now_ms);

  // Every (subscription, channel) with something in the outbox.
  Result<std::vector<std::pair<std::string, std::string>>> channels();
  // The oldest row of one channel of one subscription.
  Result<std::optional<OutRow>> head(const std::string& sub, const std::string& channel);
  // One transaction for a batch of finished deliveries. max_age_ms per
  // row's subscription is applied by the caller (kFailed past it).
  Status finish(const std::vector<Finished>& done, int64_t now_ms);

  // Alert bookkeeping: when the webhook_failed alert opened (0: closed).
  Status set_alert_since(const std::string& sub, int64_t since_ms);
  // Re-enables a subscription disabled by a 410 (its url changed).
  Status enable(const std::string& sub);

  Result<std::vector<SubStatus>> status();
  Result<SubStatus> sub_status(const std::string& sub);
  Result<int64_t> garbage();
  // Changes whenever another connection commits (sigma-hook replay).
  Result<int64_t> data_version();

 private:
  Store() = default;
  Status ensure_sub(const std::string& sub);
  std::unique_ptr<db::Db> db_;
};

}  // namespace sigma::hook

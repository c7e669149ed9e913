#pragma once
// The subscription file (sigma-hook(5)): one [subscription NAME] section
// per receiver, in the house config format (base/conf.h).
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::hook {

struct Subscription {
  std::string name;
  std::string url;                // an http:// or https:// receiver, or
  std::vector<std::string> exec;  // a command given the event JSON on stdin
  std::string secret_file;        // whsec_ secrets, one a line (two during a rotation)
  int secret_line = 0;            // of secret_file in the config, for errors
  std::vector<std::string> events{"*"};    // type globs
  std::vector<std::string> channels{"*"};  // channel names or globs
  int64_t timeout_ms = 10'000;
  int64_t max_age_ms = 86'400'000;        // retry for that long, then dead-letter
  int64_t backoff_initial_ms = 1'000;
  int64_t backoff_max_ms = 3'600'000;
  int concurrency = 4;  // deliveries in flight (each of a different channel)

  // Loaded by load_secrets; never logged, never shown.
  std::vector<std::string> keys;
  std::string secret_error;  // why the keys could not be read ("" when they were)

  bool wants(const std::string& type, const std::string& channel) const;
};

struct SubscriptionSet {
  std::string origin;
  std::vector<Subscription> subs;
};

// Parses and checks the file; errors read "FILE:LINE: reason" (exit 100).
Result<SubscriptionSet> load_subscriptions(const std::string& path);
Result<SubscriptionSet> parse_subscriptions(const std::string& text, const std::string& origin);

// Reads every subscription's secret_file. A secret that cannot be read
// leaves that subscription's secret_error set (sigma-hook run holds its
// deliveries and goes on with the others); the Status is the first such
// error, as "FILE:LINE: secret_file PATH: reason", for `check`.
Status load_secrets(SubscriptionSet& set);

// '*' matches any run of characters (also none), everything else itself.
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace sigma::hook

#pragma once
// Deliveries in flight, all on one thread: HTTP POSTs on libcurl's multi
// interface (this layer is Sigma's one owner of libcurl) and exec handlers
// (a child process given the event JSON on stdin). Each has its own
// timeout; none waits for another.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::hook {

struct Job {
  int64_t seq = 0;
  std::string sub, channel;
  std::string url;                // HTTP, or
  std::vector<std::string> exec;  // a command
  std::vector<std::string> headers;  // "name: value"
  std::string body;
  int64_t timeout_ms = 10'000;
};

struct JobResult {
  int64_t seq = 0;
  std::string sub, channel;
  // HTTP: status (0 when no answer came) and curl's error text; exec: exit
  // status (-1 killed at the timeout or by a signal) in http_status's place.
  bool is_exec = false;
  long http_status = 0;
  std::string error;         // "" when an answer (or an exit) came
  int64_t retry_after_ms = -1;  // from Retry-After, -1 when absent
};

class Deliverer {
 public:
  static Result<std::unique_ptr<Deliverer>> create();
  ~Deliverer();

  Status start(Job job);
  size_t in_flight() const;
  // Waits up to timeout_ms for transfers or for one of extra_fds to be
  // readable, moves on every transfer, appends the finished ones.
  Status run(int timeout_ms, const std::vector<int>& extra_fds, std::vector<JobResult>& done);
  // Ends everything in flight (at a stop): no results.
  void abandon();

 private:
  struct Impl;
  Deliverer();
  std::unique_ptr<Impl> impl_;
};

// Retry-After: delay-seconds or an HTTP-date -> ms from now (>= 0), -1
// when unreadable.
int64_t parse_retry_after(const std::string& value, int64_t now_ms);

}  // namespace sigma::hook

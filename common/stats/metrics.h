#pragma once
// The Prometheus text exposition (format 0.0.4) of sigma-stats, and the
// small HTTP/1.0 listener that serves it at /metrics on a 127.0.0.1
// address: single-threaded, polled beside the log follower, so the figures
// are read without a lock. Counters come from the persisted totals, so
// they never go down across a restart. No session id is ever a label.
#include <poll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "stats/engine.h"
#include "stats/store.h"

namespace sigma::stats {

std::string metrics_text(const Engine& e, const std::map<std::string, int64_t>& viewers, int64_t active_fallback,
                         const LineCounts& lines);

class MetricsServer {
 public:
  ~MetricsServer();
  Status listen(const std::string& address);  // "127.0.0.1:9981"
  bool enabled() const { return fd_ >= 0; }
  void add_poll_fds(std::vector<pollfd>& fds) const;
  // Accepts, reads requests, answers GET /metrics with body() (others 404).
  template <class F>
  void process(const std::vector<pollfd>& fds, int64_t now_ms, F&& body) {
    process_impl(fds, now_ms, [&]() { return body(); });
  }

 private:
  struct Conn {
    int fd;
    std::string in, out;
    size_t sent = 0;
    int64_t deadline_ms;
  };
  void process_impl(const std::vector<pollfd>& fds, int64_t now_ms, const std::function<std::string()>& body);
  int fd_ = -1;
  std::vector<Conn> conns_;
};

}  // namespace sigma::stats

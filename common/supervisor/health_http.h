#pragma once
// A deliberately small HTTP/1.0 server for /healthz and /status, driven by
// the supervisor's own poll() loop (no thread, no library): it answers GETs
// of a few hundred bytes to local monitoring, one request per connection.
#include <poll.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::supervisor {

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class HealthServer {
 public:
  using Handler = std::function<HttpReply(const std::string& method, const std::string& path)>;

  HealthServer() = default;
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  // addr: HOST:PORT (numeric host, e.g. 127.0.0.1:9980).
  Status listen(const std::string& addr);
  void close_all();
  bool listening() const { return listen_fd_ >= 0; }
  const std::string& address() const { return addr_; }

  // Appends the descriptors to poll; process() then handles what is ready.
  void add_poll_fds(std::vector<pollfd>& fds) const;
  void process(const std::vector<pollfd>& fds, int64_t now_ms, const Handler& handler);
  // Milliseconds until the next connection deadline (-1: none).
  int64_t next_deadline_ms() const;

 private:
  struct Conn {
    int fd;
    std::string in, out;
    size_t sent = 0;
    int64_t deadline_ms;
  };
  void accept_all(int64_t now_ms);
  int listen_fd_ = -1;
  std::string addr_;
  std::vector<Conn> conns_;
};

// Blocking GET for `sigma-supervisor status`: returns the body; an HTTP
// status other than 200/503 is an error.
Result<std::string> http_get(const std::string& addr, const std::string& path, int timeout_ms);

}  // namespace sigma::supervisor

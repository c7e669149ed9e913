#pragma once
// A deliberately small HTTP/1.0 server for local monitoring endpoints
// (the supervisor's /healthz, /status and /metrics, sigma-stats's /metrics),
// driven by the caller's own poll() loop (no thread, no library): it answers
// GETs of a few kilobytes, one request per connection.
#include <netinet/in.h>
#include <poll.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::http {

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// HOST:PORT with a numeric IPv4 host ("localhost" and an empty host are
// 127.0.0.1). `what` names the address in errors ("health", "metrics").
Result<sockaddr_in> parse_ipv4_address(const std::string& addr, const std::string& what);

class PollHttpServer {
 public:
  using Handler = std::function<HttpReply(const std::string& method, const std::string& path)>;

  PollHttpServer() = default;
  ~PollHttpServer();
  PollHttpServer(const PollHttpServer&) = delete;
  PollHttpServer& operator=(const PollHttpServer&) = delete;

  // addr: HOST:PORT (numeric host, e.g. 127.0.0.1:9980); `what` says what
  // the listener is for in errors ("listen on ADDR (health)").
  Status listen(const std::string& addr, const std::string& what);
  void close_all();
  bool listening() const { return listen_fd_ >= 0; }
  const std::string& address() const { return addr_; }

  // Appends the descriptors to poll; process() then handles what is ready.
  void add_poll_fds(std::vector<pollfd>& fds) const;
  // Reads requests, answers GET and HEAD with handler() (others 405).
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

}  // namespace sigma::http

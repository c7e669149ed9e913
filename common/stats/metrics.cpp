#include "stats/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include <fmt/format.h>

namespace sigma::stats {
namespace {

constexpr size_t kMaxConns = 32;
constexpr int64_t kConnTimeoutMs = 5000;

// A label value escaped as the exposition format wants (\\, \", \n).
std::string esc(const std::string& v) {
  std::string o;
  for (char c : v) {
    if (c == '\\') o += "\\\\";
    else if (c == '"') o += "\\\"";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

void head(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string metrics_text(const Engine& e, const std::map<std::string, int64_t>& viewers, int64_t active_fallback,
                         const LineCounts& lines) {
  std::string out;
  head(out, "sigma_viewers", "gauge", "Viewer sessions active now (a request within the session timeout).");
  for (const auto& [ch, n] : viewers) out += fmt::format("sigma_viewers{{channel=\"{}\"}} {}\n", esc(ch), n);
  head(out, "sigma_viewer_sessions_fallback", "gauge",
       "Active sessions identified by client address and User-Agent (no session id in their requests).");
  out += fmt::format("sigma_viewer_sessions_fallback {}\n", active_fallback);

  auto sel = [&](Metric m) {
    std::vector<std::pair<const Engine::TotalKey*, int64_t>> v;
    for (const auto& [k, val] : e.totals())
      if (k.metric == m) v.emplace_back(&k, val);
    return v;
  };
  head(out, "sigma_views_total", "counter", "Views: sessions that fetched media (a segment or a part).");
  for (const auto& ch : e.channels()) {
    int64_t n = 0;
    for (auto& [k, v] : sel(Metric::kViews))
      if (k->channel == ch) n += v;
    out += fmt::format("sigma_views_total{{channel=\"{}\"}} {}\n", esc(ch), n);
  }
  head(out, "sigma_watch_seconds_total", "counter",
       "Watch time: first to last media request of each session, gaps over the timeout cut, by rendition.");
  for (auto& [k, v] : sel(Metric::kWatchMs))
    out += fmt::format("sigma_watch_seconds_total{{channel=\"{}\",track=\"{}\"}} {:.3f}\n", esc(k->channel),
                       esc(k->label), static_cast<double>(v) / 1000.0);
  head(out, "sigma_http_requests_total", "counter", "Requests in the access log, by channel and status code.");
  for (auto& [k, v] : sel(Metric::kRequests))
    out += fmt::format("sigma_http_requests_total{{channel=\"{}\",code=\"{}\"}} {}\n", esc(k->channel), esc(k->label), v);
  head(out, "sigma_http_sent_bytes_total", "counter", "Response body bytes sent, by channel.");
  for (const auto& ch : e.channels()) {
    int64_t n = 0;
    for (auto& [k, v] : sel(Metric::kBytes))
      if (k->channel == ch) n += v;
    out += fmt::format("sigma_http_sent_bytes_total{{channel=\"{}\"}} {}\n", esc(ch), n);
  }
  head(out, "sigma_sessions_total", "counter", "Viewer sessions started, by channel.");
  for (const auto& ch : e.channels()) {
    int64_t n = 0;
    for (auto& [k, v] : sel(Metric::kSessions))
      if (k->channel == ch) n += v;
    out += fmt::format("sigma_sessions_total{{channel=\"{}\"}} {}\n", esc(ch), n);
  }
  head(out, "sigma_sessions_fallback_total", "counter",
       "Sessions started that were identified by client address and User-Agent (no session id).");
  int64_t fb = 0;
  for (auto& [k, v] : sel(Metric::kFallbackSessions)) fb += v;
  out += fmt::format("sigma_sessions_fallback_total {}\n", fb);
  head(out, "sigma_stats_log_lines_total", "counter",
       "Access-log lines read, by result: ok, garbage, future, past (the last three skipped).");
  out += fmt::format("sigma_stats_log_lines_total{{result=\"ok\"}} {}\n", lines.ok);
  out += fmt::format("sigma_stats_log_lines_total{{result=\"garbage\"}} {}\n", lines.garbage);
  out += fmt::format("sigma_stats_log_lines_total{{result=\"future\"}} {}\n", lines.future);
  out += fmt::format("sigma_stats_log_lines_total{{result=\"past\"}} {}\n", lines.past);
  head(out, "sigma_stats_log_resets_total", "counter", "Times the access log was rotated or truncated under sigma-stats.");
  out += fmt::format("sigma_stats_log_resets_total {}\n", lines.resets);
  return out;
}

MetricsServer::~MetricsServer() {
  for (auto& c : conns_) ::close(c.fd);
  if (fd_ >= 0) ::close(fd_);
}

Status MetricsServer::listen(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return usage_error("--metrics '" + addr + "': expected HOST:PORT");
  std::string host = addr.substr(0, colon);
  if (host == "localhost" || host.empty()) host = "127.0.0.1";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  int port = 0;
  try {
    port = std::stoi(addr.substr(colon + 1));
  } catch (...) {
  }
  if (port <= 0 || port > 65535) return usage_error("--metrics '" + addr + "': bad port");
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1)
    return usage_error("--metrics '" + addr + "': expected a numeric IPv4 host");
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno_error("socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 16) != 0) {
    int e = errno;
    ::close(fd);
    return errno_error("listen on " + addr + " (metrics)", e);
  }
  fd_ = fd;
  return {};
}

void MetricsServer::add_poll_fds(std::vector<pollfd>& fds) const {
  if (fd_ < 0) return;
  fds.push_back({fd_, POLLIN, 0});
  for (auto& c : conns_) fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
}

void MetricsServer::process_impl(const std::vector<pollfd>& fds, int64_t now_ms,
                                 const std::function<std::string()>& body) {
  if (fd_ < 0) return;
  for (auto& c : conns_) {
    auto it = std::find_if(fds.begin(), fds.end(), [&](const pollfd& p) { return p.fd == c.fd; });
    if (it == fds.end() || it->revents == 0) continue;
    if (c.out.empty()) {
      char buf[2048];
      ssize_t n = ::read(c.fd, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        c.deadline_ms = 0;
        continue;
      }
      c.in.append(buf, static_cast<size_t>(n));
      if (c.in.size() > 8192) c.deadline_ms = 0;
      if (c.in.find("\r\n\r\n") == std::string::npos && c.in.find("\n\n") == std::string::npos) continue;
      bool get = c.in.rfind("GET ", 0) == 0, headreq = c.in.rfind("HEAD ", 0) == 0;
      size_t sp = c.in.find(' ');
      size_t sp2 = c.in.find(' ', sp + 1);
      std::string target = c.in.substr(sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1);
      std::string path = target.substr(0, target.find('?'));
      std::string b;
      int code = 200;
      std::string type = "text/plain; version=0.0.4; charset=utf-8";
      if (!get && !headreq) {
        code = 405;
        b = "only GET\n";
      } else if (path == "/metrics") {
        b = body();
      } else {
        code = 404;
        b = "not found: try /metrics\n";
        type = "text/plain; charset=utf-8";
      }
      c.out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", code,
                          code == 200 ? "OK" : code == 404 ? "Not Found" : "Method Not Allowed", type, b.size());
      if (!headreq) c.out += b;
    }
    if (!c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) c.deadline_ms = 0;
      if (n > 0) c.sent += static_cast<size_t>(n);
      if (c.sent >= c.out.size()) c.deadline_ms = 0;
    }
  }
  conns_.erase(std::remove_if(conns_.begin(), conns_.end(),
                              [&](Conn& c) {
                                if (c.deadline_ms > now_ms) return false;
                                ::close(c.fd);
                                return true;
                              }),
               conns_.end());
  bool accept_ready = std::any_of(fds.begin(), fds.end(), [&](const pollfd& p) { return p.fd == fd_ && p.revents; });
  if (!accept_ready) return;
  for (;;) {
    int fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (conns_.size() >= kMaxConns) {
      ::close(fd);
      continue;
    }
    conns_.push_back({fd, {}, {}, 0, now_ms + kConnTimeoutMs});
  }
}

}  // namespace sigma::stats

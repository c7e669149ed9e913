#include "http/poll_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sigma::http {
namespace {

constexpr size_t kMaxRequestBytes = 8192;
constexpr int64_t kConnTimeoutMs = 5000;
constexpr size_t kMaxConns = 64;

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

}  // namespace

Result<sockaddr_in> parse_ipv4_address(const std::string& addr, const std::string& what) {
  std::string name = what + " address '" + addr + "'";
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return usage_error(name + ": expected HOST:PORT");
  std::string host = addr.substr(0, colon);
  if (host == "localhost" || host.empty()) host = "127.0.0.1";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  int port = 0;
  try {
    port = std::stoi(addr.substr(colon + 1));
  } catch (...) {
    port = 0;
  }
  if (port <= 0 || port > 65535) return usage_error(name + ": bad port");
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return usage_error(name + ": expected a numeric IPv4 host");
  return sa;
}

PollHttpServer::~PollHttpServer() { close_all(); }

void PollHttpServer::close_all() {
  for (auto& c : conns_) ::close(c.fd);
  conns_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

Status PollHttpServer::listen(const std::string& addr, const std::string& what) {
  SIGMA_ASSIGN_OR_RETURN(sockaddr_in sa, parse_ipv4_address(addr, what));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno_error("socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 16) != 0) {
    int e = errno;
    ::close(fd);
    return errno_error("listen on " + addr + " (" + what + ")", e);
  }
  close_all();
  listen_fd_ = fd;
  addr_ = addr;
  return {};
}

void PollHttpServer::add_poll_fds(std::vector<pollfd>& fds) const {
  if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
  for (auto& c : conns_) fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
}

int64_t PollHttpServer::next_deadline_ms() const {
  int64_t d = -1;
  for (auto& c : conns_) d = d < 0 ? c.deadline_ms : std::min(d, c.deadline_ms);
  return d;
}

void PollHttpServer::accept_all(int64_t now_ms) {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN, or a transient error: try on the next poll
    if (conns_.size() >= kMaxConns) {
      ::close(fd);
      continue;
    }
    conns_.push_back({fd, {}, {}, 0, now_ms + kConnTimeoutMs});
  }
}

void PollHttpServer::process(const std::vector<pollfd>& fds, int64_t now_ms, const Handler& handler) {
  bool accept_ready = false;
  for (auto& p : fds) {
    if (p.fd == listen_fd_ && (p.revents & POLLIN)) accept_ready = true;
  }
  for (auto& c : conns_) {
    auto it = std::find_if(fds.begin(), fds.end(), [&](const pollfd& p) { return p.fd == c.fd; });
    bool ready = it != fds.end() && it->revents != 0;
    if (!ready) continue;
    if (c.out.empty()) {
      char buf[2048];
      ssize_t n = ::read(c.fd, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        c.deadline_ms = 0;  // peer gone: close below
        continue;
      }
      c.in.append(buf, static_cast<size_t>(n));
      HttpReply reply;
      auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) end = c.in.find("\n\n");
      if (end == std::string::npos) {
        if (c.in.size() < kMaxRequestBytes) continue;
        reply = {400, "text/plain", "request too large\n"};
      } else {
        auto line_end = c.in.find_first_of("\r\n");
        std::string line = c.in.substr(0, line_end);
        auto sp1 = line.find(' '), sp2 = line.rfind(' ');
        if (sp1 == std::string::npos || sp2 == sp1) {
          reply = {400, "text/plain", "bad request line\n"};
        } else {
          std::string method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
          std::string path = target.substr(0, target.find('?'));
          if (method != "GET" && method != "HEAD")
            reply = {405, "text/plain", "only GET\n"};
          else
            reply = handler(method, path);
          if (method == "HEAD") reply.body.clear();
        }
      }
      c.out = "HTTP/1.0 " + std::to_string(reply.status) + " " + reason(reply.status) +
              "\r\nContent-Type: " + reply.content_type + "\r\nContent-Length: " +
              std::to_string(reply.body.size()) + "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" +
              reply.body;
    }
    if (!c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) c.sent += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || c.sent == c.out.size()) c.deadline_ms = 0;
    }
  }
  // Finished, failed and timed-out connections.
  conns_.erase(std::remove_if(conns_.begin(), conns_.end(),
                              [&](const Conn& c) {
                                if (c.deadline_ms > now_ms) return false;
                                ::close(c.fd);
                                return true;
                              }),
               conns_.end());
  if (accept_ready) accept_all(now_ms);
}

}  // namespace sigma::http

#include "supervisor/health_http.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace sigma::supervisor {

Result<std::string> http_get(const std::string& addr, const std::string& path, int timeout_ms) {
  SIGMA_ASSIGN_OR_RETURN(sockaddr_in sa, http::parse_ipv4_address(addr, "health"));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("socket", errno);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    ::close(fd);
    return errno_error("connect to sigma-supervisor health endpoint " + addr, e);
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + addr + "\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    int e = errno;
    ::close(fd);
    return errno_error("send to " + addr, e);
  }
  std::string resp;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return errno_error("read from " + addr, e);
    }
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto sp = resp.find(' ');
  auto body = resp.find("\r\n\r\n");
  if (sp == std::string::npos || body == std::string::npos) return system_error("bad HTTP reply from " + addr);
  int status = std::atoi(resp.c_str() + sp + 1);
  if (status != 200 && status != 503)
    return system_error("GET " + path + " from " + addr + ": HTTP " + std::to_string(status));
  return resp.substr(body + 4);
}

}  // namespace sigma::supervisor

#include "http/blocking_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "http/poll_server.h"

namespace sigma::http {

Result<BlockingReply> blocking_request(const std::string& addr, const std::string& method, const std::string& path,
                                       const std::string& headers, const std::string& body, int timeout_ms,
                                       const std::string& what) {
  SIGMA_ASSIGN_OR_RETURN(sockaddr_in sa, parse_ipv4_address(addr, what));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("socket", errno);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    ::close(fd);
    return errno_error("connect to " + what + " at " + addr, e);
  }
  std::string req = method + " " + path + " HTTP/1.0\r\nHost: " + addr + "\r\n" + headers + "\r\n" + body;
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      return errno_error("send to " + addr, e);
    }
    off += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[8192];
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
  auto head_end = resp.find("\r\n\r\n");
  if (sp == std::string::npos || head_end == std::string::npos) return system_error("bad HTTP reply from " + addr);
  return BlockingReply{std::atoi(resp.c_str() + sp + 1), resp.substr(head_end + 4)};
}

}  // namespace sigma::http

// http::PollHttpServer (the supervisor's health listener and sigma-stats's
// /metrics) and the shared Prometheus text pieces.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "http/poll_server.h"
#include "http/prometheus.h"

namespace sigma::http {
namespace {

// A port free a moment ago on 127.0.0.1.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

// Sends `request` and drives the server until it closes the connection.
std::string exchange(PollHttpServer& s, int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string resp;
  for (int round = 0; round < 200; ++round) {
    std::vector<pollfd> fds;
    s.add_poll_fds(fds);
    poll(fds.data(), fds.size(), 20);
    s.process(fds, 0, [](const std::string& method, const std::string& path) -> HttpReply {
      if (path == "/metrics") return {200, kPrometheusContentType, "m 1\n"};
      return {404, "text/plain", "not found: " + method + " " + path + "\n"};
    });
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) {
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      resp.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return resp;
}

TEST(PollHttpServer, AnswersGetHeadAndRefusesOtherMethods) {
  PollHttpServer s;
  int port = free_port();
  ASSERT_TRUE(s.listen("127.0.0.1:" + std::to_string(port), "metrics").is_ok());
  EXPECT_TRUE(s.listening());

  std::string r = exchange(s, port, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Content-Length: 4\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "m 1\n");

  r = exchange(s, port, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "");

  r = exchange(s, port, "GET /nope HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 404 Not Found\r\n", 0), 0u) << r;
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "not found: GET /nope\n");

  r = exchange(s, port, "POST /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 405 Method Not Allowed\r\n", 0), 0u) << r;
}

TEST(PollHttpServer, AddressErrorsNameTheListener) {
  PollHttpServer s;
  Status st = s.listen("127.0.0.1", "health");
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("health address '127.0.0.1': expected HOST:PORT"), std::string::npos) << st.message();
  st = s.listen("127.0.0.1:99999", "metrics");
  EXPECT_NE(st.message().find("metrics address '127.0.0.1:99999': bad port"), std::string::npos) << st.message();
  st = s.listen("example.org:80", "metrics");
  EXPECT_NE(st.message().find("expected a numeric IPv4 host"), std::string::npos) << st.message();
  EXPECT_FALSE(s.listening());
  auto sa = parse_ipv4_address(":9981", "metrics");
  ASSERT_TRUE(sa.is_ok());
  EXPECT_EQ(sa.value().sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  EXPECT_EQ(ntohs(sa.value().sin_port), 9981);
}

TEST(Prometheus, EscapesLabelValuesAndWritesTheFamilyHead) {
  EXPECT_EQ(prometheus_escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(prometheus_head("sigma_x_total", "counter", "Things."),
            "# HELP sigma_x_total Things.\n# TYPE sigma_x_total counter\n");
}

}  // namespace
}  // namespace sigma::http

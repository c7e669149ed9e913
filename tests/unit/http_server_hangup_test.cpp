// Exchange::on_hangup: a held request learns that its client went away,
// and only then: not after it was answered, not for a pipelined request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"

namespace sigma::http {
namespace {

using namespace std::chrono_literals;

// A server whose handler holds every request and counts hang-ups.
class HeldServer {
 public:
  HeldServer() : server_(ioc_, [this](const std::shared_ptr<Exchange>& ex) { hold(ex); }, nullptr) {
    EXPECT_TRUE(server_.listen("127.0.0.1:0").ok());
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~HeldServer() {
    ioc_.stop();
    thread_.join();
  }
  int port() const { return server_.local_endpoint().port(); }
  int hangups() const { return hangups_.load(); }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  std::shared_ptr<Exchange> exchange(size_t i) {
    std::lock_guard lock(mu_);
    return held_.at(i);
  }
  int connections() const { return server_.connections(); }

 private:
  // Like the origin, lets go of an exchange whose client hung up (the
  // exchange keeps its connection).
  void hold(const std::shared_ptr<Exchange>& ex) {
    ex->on_hangup([this, raw = ex.get()] {
      hangups_++;
      std::lock_guard lock(mu_);
      for (auto& h : held_)
        if (h.get() == raw) h.reset();
    });
    std::lock_guard lock(mu_);
    held_.push_back(ex);
  }
  boost::asio::io_context ioc_;
  Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Exchange>> held_;
  std::atomic<int> hangups_{0};
};

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

void send_all(int fd, const std::string& s) { ASSERT_EQ(::send(fd, s.data(), s.size(), 0), ssize_t(s.size())); }

const std::string kGet = "GET /a.m3u8?_HLS_msn=5 HTTP/1.1\r\nHost: x\r\n\r\n";

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 2000ms) {
  auto end = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

Response ok_text() {
  Response res(boost::beast::http::status::ok, 11);
  set_text(res, "ok\n", false);
  return res;
}

TEST(Hangup, ClientClosingAHeldRequestIsNoticedAtOnce) {
  HeldServer s;
  int fd = connect_to(s.port());
  send_all(fd, kGet);
  ASSERT_TRUE(eventually([&] { return s.held() == 1; }));
  EXPECT_EQ(s.hangups(), 0);
  auto ex = s.exchange(0);
  ::close(fd);
  ASSERT_TRUE(eventually([&] { return s.hangups() == 1; }, 1000ms));
  EXPECT_TRUE(ex->sent());  // a late answer is dropped
  ex.reset();
  EXPECT_TRUE(eventually([&] { return s.connections() == 0; }));  // closed and freed
}

TEST(Hangup, AResetIsAHangupToo) {
  HeldServer s;
  int fd = connect_to(s.port());
  send_all(fd, kGet);
  ASSERT_TRUE(eventually([&] { return s.held() == 1; }));
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
  EXPECT_TRUE(eventually([&] { return s.hangups() == 1; }, 1000ms));
}

TEST(Hangup, AnAnsweredRequestIsNotAHangupButTheNextHeldOneIs) {
  HeldServer s;
  int fd = connect_to(s.port());
  send_all(fd, kGet);
  ASSERT_TRUE(eventually([&] { return s.held() == 1; }));
  s.exchange(0)->send(ok_text());
  char buf[512];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, 12), "HTTP/1.1 200");
  // The same connection's next request is held; the watch left over from
  // the first must not take the new request's bytes for a hang-up.
  send_all(fd, kGet);
  ASSERT_TRUE(eventually([&] { return s.held() == 2; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(s.hangups(), 0);
  ::close(fd);
  ASSERT_TRUE(eventually([&] { return s.hangups() == 1; }, 1000ms));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(s.hangups(), 1);
}

TEST(Hangup, APipelinedRequestIsNotAHangup) {
  HeldServer s;
  int fd = connect_to(s.port());
  send_all(fd, kGet + kGet);
  ASSERT_TRUE(eventually([&] { return s.held() == 1; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(s.hangups(), 0);
  s.exchange(0)->send(ok_text());
  EXPECT_TRUE(eventually([&] { return s.held() == 2; }));  // the second is read after the answer
  EXPECT_EQ(s.hangups(), 0);
  ::close(fd);
}

}  // namespace
}  // namespace sigma::http

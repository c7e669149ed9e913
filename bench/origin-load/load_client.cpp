// Load client for bench/origin-load.sh: opens N connections to sigma-origin,
// sends on each a blocking playlist request (_HLS_msn/_HLS_part) for a part
// that is not in the playlist yet, waits until all are sent, then "lands"
// the part itself (renames a prepared playlist into place) and measures,
// for every request, the time from the rename to the complete response.
// Prints one JSON line.
//
//   load_client HOST PORT PATH_QUERY N TMP_PLAYLIST FINAL_PLAYLIST EXPECT_TEXT
#define BOOST_ASIO_DISABLE_CO_AWAIT
#include <cstdio>
#include <utility>
#include <boost/asio.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Stats {
  std::mutex mu;  // the client runs on two threads
  int connected = 0, sent = 0, answered = 0, ok = 0, early = 0, failed = 0;
  bool landed = false;
  Clock::time_point land_time;
  long long land_unix_ms = 0, done_unix_ms = 0;
  std::vector<double> wake_ms;
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(asio::io_context& ioc, Stats& st, std::string req, std::string expect)
      : sock_(ioc), st_(st), req_(std::move(req)), expect_(std::move(expect)) {}
  void start(const tcp::endpoint& ep) {
    sock_.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) {
      std::unique_lock lock(self->st_.mu);
      if (ec) { self->st_.failed++; return; }
      self->st_.connected++;
      lock.unlock();
      asio::async_write(self->sock_, asio::buffer(self->req_), [self](boost::system::error_code ec, size_t) {
        {
          std::lock_guard lock(self->st_.mu);
          if (ec) { self->st_.failed++; return; }
          self->st_.sent++;
        }
        self->read();
      });
    });
  }

 private:
  void read() {
    sock_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      auto now = Clock::now();
      if (ec) { std::lock_guard lock(self->st_.mu); self->st_.failed++; return; }
      self->data_.append(self->buf_, n);
      if (!self->complete()) return self->read();
      std::lock_guard lock(self->st_.mu);
      self->st_.answered++;
      if (!self->st_.landed) { self->st_.early++; return; }
      self->st_.wake_ms.push_back(std::chrono::duration<double, std::milli>(now - self->st_.land_time).count());
      if (self->data_.rfind("HTTP/1.1 200", 0) == 0 && self->data_.find(self->expect_) != std::string::npos)
        self->st_.ok++;
    });
  }
  bool complete() {
    auto end = data_.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    auto cl = data_.find("Content-Length: ");
    if (cl == std::string::npos || cl > end) return true;
    size_t len = std::stoul(data_.substr(cl + 16));
    return data_.size() >= end + 4 + len;
  }
  tcp::socket sock_;
  Stats& st_;
  std::string req_, expect_, data_;
  char buf_[16384];
};

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: load_client HOST PORT PATH_QUERY N TMP_PLAYLIST FINAL_PLAYLIST EXPECT_TEXT\n");
    return 2;
  }
  std::string host = argv[1], path = argv[3], tmp = argv[5], fin = argv[6], expect = argv[7];
  int port = std::atoi(argv[2]), n = std::atoi(argv[4]);
  asio::io_context ioc;
  Stats st;
  tcp::endpoint ep(asio::ip::make_address(host), static_cast<unsigned short>(port));
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: sigma-origin-load\r\n\r\n";
  std::vector<std::shared_ptr<Conn>> conns;
  // Connect in batches so the listen backlog never overflows.
  int started = 0;
  asio::steady_timer pacer(ioc);
  std::function<void()> batch = [&] {
    std::lock_guard lock(st.mu);
    for (int i = 0; i < 250 && started < n; ++i, ++started) {
      conns.push_back(std::make_shared<Conn>(ioc, st, req, expect));
      conns.back()->start(ep);
    }
    if (started < n) {
      pacer.expires_after(std::chrono::milliseconds(20));
      pacer.async_wait([&](boost::system::error_code) { batch(); });
    }
  };
  batch();
  auto t_start = Clock::now();
  asio::steady_timer land(ioc);
  std::function<void()> wait_sent = [&] {
    bool all;
    {
      std::lock_guard lock(st.mu);
      all = st.sent + st.failed >= n;
    }
    if (!all && Clock::now() - t_start < std::chrono::seconds(60)) {
      land.expires_after(std::chrono::milliseconds(50));
      land.async_wait([&](boost::system::error_code) { wait_sent(); });
      return;
    }
    // Give the origin a moment to register the last requests, then land.
    land.expires_after(std::chrono::milliseconds(1000));
    land.async_wait([&](boost::system::error_code) {
      std::lock_guard lock(st.mu);
      st.landed = true;
      st.land_time = Clock::now();
      st.land_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
      if (std::rename(tmp.c_str(), fin.c_str()) != 0) std::perror("rename");
    });
  };
  wait_sent();
  asio::steady_timer guard(ioc);
  guard.expires_after(std::chrono::seconds(120));
  guard.async_wait([&](boost::system::error_code) { ioc.stop(); });
  asio::steady_timer done(ioc);
  std::function<void()> check_done = [&] {
    {
      std::lock_guard lock(st.mu);
      if (st.landed && st.answered + st.failed >= n) {
        st.done_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
        return ioc.stop();
      }
    }
    done.expires_after(std::chrono::milliseconds(20));
    done.async_wait([&](boost::system::error_code) { check_done(); });
  };
  check_done();
  std::thread second([&] { ioc.run(); });
  ioc.run();
  second.join();
  auto& w = st.wake_ms;
  std::sort(w.begin(), w.end());
  auto pct = [&](double p) { return w.empty() ? -1.0 : w[std::min(w.size() - 1, size_t(p / 100.0 * w.size()))]; };
  std::printf(
      "{\"requests\":%d,\"connected\":%d,\"answered\":%d,\"answered_with_new_part\":%d,\"answered_before_landing\":%d,"
      "\"failed\":%d,\"land_unix_ms\":%lld,\"done_unix_ms\":%lld,\"wake_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}}\n",
      n, st.connected, st.answered, st.ok, st.early, st.failed, st.land_unix_ms, st.done_unix_ms, pct(50), pct(99),
      w.empty() ? -1.0 : w.back());
  std::fflush(stdout);
  // Keep the connections open a while, so that the origin's work after the
  // answers (re-arming reads, freeing requests) is measured as part of the
  // wake-up and not mixed with 5,000 connections closing.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  return 0;
}

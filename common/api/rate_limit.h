#pragma once
// Failed authentications per client address: past max_failures within
// the window, every request from that address is 429 until the window
// has moved past the failures (a guesser learns nothing more, not even
// from a right guess). Thread-safe; its memory is bounded (the oldest
// addresses are forgotten first).
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace sigma::api {

class FailureLimiter {
 public:
  explicit FailureLimiter(int max_failures = 10, int64_t window_ms = 60'000, size_t max_addresses = 10'000)
      : max_(max_failures), window_ms_(window_ms), max_addresses_(max_addresses) {}
  // 0: allowed; else the seconds to wait (Retry-After).
  int64_t blocked_for_s(const std::string& address, int64_t now_ms);
  void failed(const std::string& address, int64_t now_ms);

 private:
  void prune(std::deque<int64_t>& q, int64_t now_ms) const;
  std::mutex mu_;
  int max_;
  int64_t window_ms_;
  size_t max_addresses_;
  std::map<std::string, std::deque<int64_t>> failures_;
};

// "127.0.0.1:5555" -> "127.0.0.1", "[::1]:5555" or "::1:5555" -> "::1".
std::string address_of(const std::string& client);

}  // namespace sigma::api

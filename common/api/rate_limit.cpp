#include "api/rate_limit.h"

#include <algorithm>

namespace sigma::api {

void FailureLimiter::prune(std::deque<int64_t>& q, int64_t now_ms) const {
  while (!q.empty() && q.front() <= now_ms - window_ms_) q.pop_front();
}

int64_t FailureLimiter::blocked_for_s(const std::string& address, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(address);
  if (it == failures_.end()) return 0;
  prune(it->second, now_ms);
  if (it->second.empty()) {
    failures_.erase(it);
    return 0;
  }
  if (static_cast<int>(it->second.size()) < max_) return 0;
  // Allowed again once enough failures have left the window.
  int64_t until = it->second[it->second.size() - static_cast<size_t>(max_)] + window_ms_;
  return std::max<int64_t>(1, (until - now_ms + 999) / 1000);
}

void FailureLimiter::failed(const std::string& address, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (failures_.size() >= max_addresses_ && !failures_.count(address)) {
    // Forget the address whose last failure is oldest.
    auto oldest = failures_.begin();
    for (auto it = failures_.begin(); it != failures_.end(); ++it)
      if (it->second.empty() || (!oldest->second.empty() && it->second.back() < oldest->second.back())) oldest = it;
    failures_.erase(oldest);
  }
  auto& q = failures_[address];
  prune(q, now_ms);
  q.push_back(now_ms);
  // No more than needed to decide.
  while (static_cast<int>(q.size()) > std::max(max_, 1) * 2) q.pop_front();
}

std::string address_of(const std::string& client) {
  if (!client.empty() && client[0] == '[') {
    auto close = client.find(']');
    return close == std::string::npos ? client : client.substr(1, close - 1);
  }
  auto colon = client.rfind(':');
  return colon == std::string::npos ? client : client.substr(0, colon);
}

}  // namespace sigma::api

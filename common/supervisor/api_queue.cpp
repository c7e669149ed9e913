#include "supervisor/api_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace sigma::supervisor {

ApiQueue::ApiQueue() { fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

ApiQueue::~ApiQueue() {
  close();
  if (fd_ >= 0) ::close(fd_);
}

void ApiQueue::handle(api::Call call, api::Done done) {
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      calls_.emplace_back(std::move(call), std::move(done));
      uint64_t one = 1;
      ssize_t n = ::write(fd_, &one, sizeof one);
      (void)n;  // a full counter still wakes the engine
      return;
    }
  }
  done(api::error_reply(503, "unavailable", "the supervisor is stopping"));
}

std::vector<std::pair<api::Call, api::Done>> ApiQueue::take() {
  uint64_t v;
  ssize_t n = ::read(fd_, &v, sizeof v);
  (void)n;
  std::lock_guard lock(mu_);
  std::vector<std::pair<api::Call, api::Done>> out(std::make_move_iterator(calls_.begin()),
                                                   std::make_move_iterator(calls_.end()));
  calls_.clear();
  return out;
}

void ApiQueue::close() {
  std::deque<std::pair<api::Call, api::Done>> left;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    left.swap(calls_);
  }
  for (auto& [c, done] : left) done(api::error_reply(503, "unavailable", "the supervisor is stopping"));
}

}  // namespace sigma::supervisor

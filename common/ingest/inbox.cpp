#include "ingest/inbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>

namespace sigma::ingest {

Inbox::Inbox() { efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

Inbox::~Inbox() {
  if (efd_ >= 0) ::close(efd_);
}

bool Inbox::post(InboxItem item, size_t live_limit) {
  {
    std::lock_guard lk(mu_);
    if (item.kind == InboxItem::Kind::kData) {
      size_t& out = outstanding_[item.source];
      if (out + item.data.size() > live_limit) return false;
      out += item.data.size();
    }
    items_.push_back(std::move(item));
  }
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(efd_, &one, sizeof one);
  return true;
}

std::deque<InboxItem> Inbox::take() {
  uint64_t v;
  [[maybe_unused]] auto n = ::read(efd_, &v, sizeof v);
  std::lock_guard lk(mu_);
  std::deque<InboxItem> out;
  out.swap(items_);
  return out;
}

void Inbox::wait_for_credit(uint64_t source, size_t limit, const std::function<bool()>& cancelled) {
  std::unique_lock lk(mu_);
  while (outstanding_[source] >= limit && !cancelled()) cv_.wait_for(lk, std::chrono::milliseconds(200));
}

void Inbox::ack(uint64_t source, size_t bytes) {
  {
    std::lock_guard lk(mu_);
    auto it = outstanding_.find(source);
    if (it == outstanding_.end()) return;
    it->second -= std::min(it->second, bytes);
  }
  cv_.notify_all();
}

void Inbox::forget(uint64_t source) {
  {
    std::lock_guard lk(mu_);
    outstanding_.erase(source);
  }
  cv_.notify_all();
}

}  // namespace sigma::ingest

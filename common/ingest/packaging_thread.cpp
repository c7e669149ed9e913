#include "ingest/packaging_thread.h"

#include <chrono>

namespace sigma::ingest {

namespace {
// Media waits up to this long for the thread to wake: one wake-up per
// batch instead of a futex wait and wake per packet (thousands a second
// with 20 channels). Small beside an LL-HLS part (1/3 s).
constexpr auto kBatch = std::chrono::milliseconds(20);
// ...unless this much is already waiting.
constexpr size_t kWakeBytes = 1 << 20;
}  // namespace

PackagingThread::PackagingThread(size_t max_queued_bytes)
    : max_bytes_(max_queued_bytes), thread_([this] { run(); }) {}

PackagingThread::~PackagingThread() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool PackagingThread::post(std::function<void()> task, size_t bytes, bool droppable) {
  bool wake;
  {
    std::lock_guard lk(mu_);
    if (droppable && bytes_ + bytes > max_bytes_) return false;
    bytes_ += bytes;
    tasks_.push_back({std::move(task), bytes});
    wake = idle_ || !droppable || bytes_ >= kWakeBytes;
  }
  if (wake) cv_.notify_one();
  return true;
}

void PackagingThread::drain() {
  cv_.notify_one();
  std::unique_lock lk(mu_);
  idle_cv_.wait(lk, [this] { return tasks_.empty() && !busy_; });
}

size_t PackagingThread::queued_bytes() const {
  std::lock_guard lk(mu_);
  return bytes_;
}

void PackagingThread::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    auto ready = [this] { return stopping_ || !tasks_.empty(); };
    if (!ready()) {
      cv_.wait_for(lk, kBatch, ready);
      if (!ready()) {
        // Nothing for a whole batch: sleep until a post wakes us.
        idle_ = true;
        cv_.wait(lk, ready);
        idle_ = false;
      }
    }
    if (tasks_.empty()) return;  // stopping, and everything has run
    Task t = std::move(tasks_.front());
    tasks_.pop_front();
    busy_ = true;
    lk.unlock();
    t.fn();
    t.fn = nullptr;  // what it captured goes before the lock is retaken
    lk.lock();
    bytes_ -= t.bytes;
    busy_ = false;
    if (tasks_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace sigma::ingest

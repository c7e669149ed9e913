#include "http/body_stream.h"

namespace sigma::http {

bool BodyStream::push(std::string chunk) {
  if (chunk.empty()) return !cancelled();
  Next f;
  {
    std::unique_lock lock(mu_);
    // One chunk bigger than the bound still goes (into an empty queue).
    room_.wait(lock, [&] { return cancelled_ || queued_ == 0 || queued_ + chunk.size() <= max_; });
    if (cancelled_) return false;
    if (waiting_) {
      f = std::move(waiting_);
      waiting_ = nullptr;
    } else {
      queued_ += chunk.size();
      chunks_.push_back(std::move(chunk));
      return true;
    }
  }
  f(std::move(chunk), true);
  return true;
}

BodyStream::TryPush BodyStream::try_push(std::string chunk) {
  Next f;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return TryPush::kGone;
    if (chunk.empty()) return TryPush::kQueued;
    if (waiting_) {
      f = std::move(waiting_);
      waiting_ = nullptr;
    } else {
      if (queued_ > 0 && queued_ + chunk.size() > max_) return TryPush::kFull;
      queued_ += chunk.size();
      chunks_.push_back(std::move(chunk));
      return TryPush::kQueued;
    }
  }
  f(std::move(chunk), true);
  return TryPush::kQueued;
}

void BodyStream::finish(bool ok) {
  Next f;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    ok_ = ok;
    if (chunks_.empty() && waiting_) {
      f = std::move(waiting_);
      waiting_ = nullptr;
    }
  }
  if (f) f(std::nullopt, ok);
}

void BodyStream::next(Next f) {
  std::optional<std::string> chunk;
  bool ok = true;
  {
    std::lock_guard lock(mu_);
    if (!chunks_.empty()) {
      chunk = std::move(chunks_.front());
      chunks_.pop_front();
      queued_ -= chunk->size();
      room_.notify_all();
    } else if (!finished_) {
      waiting_ = std::move(f);
      return;
    } else {
      ok = ok_;
    }
  }
  f(std::move(chunk), ok);
}

void BodyStream::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  waiting_ = nullptr;
  chunks_.clear();
  queued_ = 0;
  room_.notify_all();
}

bool BodyStream::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

}  // namespace sigma::http

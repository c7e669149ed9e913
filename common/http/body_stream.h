#pragma once
// A response body made by another thread while it is sent (an MP4 export
// of the archive, too big to hold in memory): chunks through a bounded
// queue. The producer blocks while the queue is full, so a slow client
// slows the producer instead of growing memory; a client that goes away
// makes push() return false so the producer stops.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace sigma::http {

class BodyStream {
 public:
  explicit BodyStream(size_t max_queued_bytes = 1u << 20) : max_(max_queued_bytes) {}

  // Producer side, any thread. false: the consumer is gone, stop.
  bool push(std::string chunk);
  // The same without waiting: a producer that must never block (the
  // API's event stream) drops a consumer that is kFull instead.
  enum class TryPush { kQueued, kFull, kGone };
  TryPush try_push(std::string chunk);
  // The end of the body; ok=false cuts the response short (the client sees
  // fewer bytes than Content-Length and the connection closes).
  void finish(bool ok);

  // Consumer side (the connection). f gets the next chunk, or nullopt at
  // the end with whether the body is complete. f may run on the
  // producer's thread: it must hand over to its own executor.
  using Next = std::function<void(std::optional<std::string> chunk, bool ok)>;
  void next(Next f);
  // The consumer is gone (client hung up, write error, stop).
  void cancel();
  bool cancelled() const;

 private:
  const size_t max_;
  mutable std::mutex mu_;
  std::condition_variable room_;
  std::deque<std::string> chunks_;
  size_t queued_ = 0;
  bool finished_ = false, ok_ = true, cancelled_ = false;
  Next waiting_;
};

}  // namespace sigma::http

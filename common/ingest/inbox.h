#pragma once
// The one channel from helper threads (the SRT listener, pull inputs) to
// the event loop, which owns every channel: a locked queue plus an
// eventfd the loop polls. Pull inputs are flow-controlled (they wait for
// credit); live sources are bounded and drop instead.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace sigma::ingest {

struct InboxItem {
  enum class Kind { kStart, kData, kEnd, kRejected };
  Kind kind = Kind::kData;
  uint64_t source = 0;
  std::string channel;  // kStart
  std::string data;     // kData: whole TS packets
  uint64_t video_frames = 0;  // kData, when the source knows
  nlohmann::json info;  // kStart: protocol, remote, codecs; kRejected: why
  std::string reason;   // kEnd
  Status status;        // kEnd: why a pull input stopped
};

class Inbox {
 public:
  Inbox();
  ~Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  int fd() const { return efd_; }
  // kData beyond live_limit queued bytes for that source is dropped
  // (returns false): a stalled loop must not grow memory without bound.
  bool post(InboxItem item, size_t live_limit = SIZE_MAX);
  std::deque<InboxItem> take();

  // Flow control for pull sources: wait until the source has fewer than
  // limit unacknowledged bytes, or until cancelled() turns true.
  void wait_for_credit(uint64_t source, size_t limit, const std::function<bool()>& cancelled);
  void ack(uint64_t source, size_t bytes);
  void forget(uint64_t source);
  void wake_all() { cv_.notify_all(); }

 private:
  int efd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<InboxItem> items_;
  std::map<uint64_t, size_t> outstanding_;
};

}  // namespace sigma::ingest

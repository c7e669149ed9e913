#pragma once
// -i URL: a channel fed by anything libavformat opens (a file, a FIFO,
// rtmp://, srt://, HLS over http(s)), remuxed to MPEG-TS on a thread of its
// own (libavformat reads block) and handed to the event loop through the
// Inbox. Flow-controlled: a slow output slows the read, nothing is dropped.
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "ingest/inbox.h"

namespace sigma::ingest {

class PullInput {
 public:
  PullInput(std::string url, std::string channel, uint64_t source, Inbox& inbox);
  ~PullInput();
  void start();
  void stop();  // asks the thread to finish, then joins it
  uint64_t source() const { return source_; }

 private:
  void run();
  Status pump();

  std::string url_;
  std::string channel_;
  uint64_t source_;
  Inbox& inbox_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sigma::ingest

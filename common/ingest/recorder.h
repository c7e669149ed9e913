#pragma once
// --record: the source of one publishing session as it arrived (MPEG-TS),
// in DIR/<channel>-<UTC start>.ts. Written through in small batches (at
// least once a second), so a crash loses at most about a second. A batch
// that cannot be written (a full disk) is dropped whole, the file cut back
// to the batches before it, and the next batch tries again: the recording
// has a hole, never a torn packet, and goes on by itself.
#include <cstdint>
#include <memory>
#include <string>

#include "base/events.h"
#include "base/status.h"
#include "base/write_health.h"

namespace sigma::ingest {

class SessionRecorder {
 public:
  // events: where output.failed / output.recovered go (may be null).
  static Result<std::unique_ptr<SessionRecorder>> open(const std::string& dir, const std::string& channel,
                                                       int64_t start_unix_ms, EventWriter* events = nullptr);
  ~SessionRecorder();
  SessionRecorder(const SessionRecorder&) = delete;
  SessionRecorder& operator=(const SessionRecorder&) = delete;

  void write(const uint8_t* data, size_t size);
  void tick(int64_t now_ms);  // flushes when the batch is a second old
  const std::string& path() const { return path_; }
  uint64_t bytes() const { return bytes_; }

 private:
  SessionRecorder(int fd, std::string path, EventWriter* events, const std::string& channel)
      : fd_(fd), path_(std::move(path)), health_(events, channel, "record") {}
  void flush();

  int fd_;
  std::string path_;
  std::string batch_;
  int64_t batch_start_ms_ = 0;
  uint64_t bytes_ = 0;  // written whole: the file's size
  WriteHealth health_;
};

}  // namespace sigma::ingest

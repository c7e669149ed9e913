#pragma once
// Where a channel's MPEG-TS goes: stdout, or a path (a FIFO or a regular
// file) opened non-blocking. Writes never block the event loop: data waits
// in a bounded buffer, and what does not fit is dropped and counted. After
// a drop, output resumes at the next PAT so the reader can resync.
#include <cstdint>
#include <string>

#include "base/status.h"

namespace sigma::ingest {

class ChannelOutput {
 public:
  // fd (e.g. 1): written to, never closed; EPIPE on it is fatal (the
  // pipeline's reader is gone).
  ChannelOutput(int fd, std::string label, size_t capacity);
  // path: opened lazily, reopened when its reader comes back; parent
  // directories are created. A regular file is appended to.
  ChannelOutput(std::string path, size_t capacity);
  ~ChannelOutput();
  ChannelOutput(const ChannelOutput&) = delete;
  ChannelOutput& operator=(const ChannelOutput&) = delete;

  // Never blocks. bounded=false lets flow-controlled sources (pull inputs,
  // which wait for room instead) past the capacity.
  void write(const uint8_t* data, size_t size, bool bounded = true);
  // Writes what the fd accepts now. Error only when the output is gone for
  // good (stdout EPIPE).
  Status flush(int64_t now_ms);
  size_t buffered() const { return buf_.size() - head_; }
  size_t capacity() const { return capacity_; }
  bool connected() const { return fd_ >= 0; }
  const std::string& label() const { return label_; }

  uint64_t bytes_written = 0;
  uint64_t bytes_dropped = 0;
  uint64_t drop_events = 0;  // times we started dropping

 private:
  void try_open(int64_t now_ms);
  void close_fd();

  int fd_ = -1;
  bool owned_ = false;
  std::string path_;
  std::string label_;
  size_t capacity_;
  std::string buf_;
  size_t head_ = 0;
  bool dropping_ = false;
  int64_t next_open_ms_ = 0;
  bool warned_no_reader_ = false;
};

}  // namespace sigma::ingest

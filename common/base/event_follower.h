#pragma once
// Lines of NDJSON from where the supervisor or a shell hands them:
//   "-"     stdin; its end is the end of the input
//   "fd:N"  an inherited descriptor (a pipe or FIFO); its end likewise
//   FILE    a FIFO (opened read-write, so writers may come and go) or a
//           regular file followed like tail -F: read from a position,
//           reopened from its start when the name is renamed away and
//           created again (rotation) or truncated
// Waiting is a poll() beside the stop fd (common/base/signals.h), and for
// a file an inotify watch on its directory, so SIGTERM ends a wait at once.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma {

class EventFollower {
 public:
  // A regular FILE starts at `offset` when its inode is `inode` and it is
  // at least that long (the position a previous run saved), else at 0.
  static Result<std::unique_ptr<EventFollower>> open(const std::string& spec, uint64_t inode = 0,
                                                     uint64_t offset = 0);
  ~EventFollower();
  EventFollower(const EventFollower&) = delete;
  EventFollower& operator=(const EventFollower&) = delete;

  // Appends the complete lines available now (waiting up to timeout_ms
  // for the first one, less when a stop is requested) to lines. ended():
  // a pipe's writer closed it, nothing more will come.
  Status read(std::vector<std::string>& lines, int timeout_ms);
  bool ended() const { return ended_; }
  bool is_file() const { return regular_; }
  // Where the next unread complete line starts in the file (regular
  // files), so that a restart resumes there.
  uint64_t inode() const { return inode_; }
  uint64_t offset() const { return offset_; }
  const std::string& spec() const { return spec_; }

 private:
  EventFollower() = default;
  Status read_available(std::vector<std::string>& lines, bool& got);
  Status check_rotation(std::vector<std::string>& lines, bool& got);
  Status reopen(uint64_t start);
  void split(std::vector<std::string>& lines, bool& got);

  std::string spec_, path_;
  int fd_ = -1;
  bool owned_ = false, regular_ = false, ended_ = false;
  int inotify_ = -1;
  uint64_t inode_ = 0, offset_ = 0;  // offset_: just past the last complete line
  std::string partial_;
};

}  // namespace sigma

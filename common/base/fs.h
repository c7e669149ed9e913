#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sigma {

// A file written under "<path>.tmp" and renamed over path by commit(), so
// a reader (the origin's inotify watch, a player) sees the old file or the
// new one, never half of one. Destroyed uncommitted, it removes the
// temporary file. For files written piece by piece (segments, parts).
class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile() { discard(); }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // mode: of a new file; an old temporary file left by a crash is given
  // it too when it is not the default (files that hold secrets).
  Status open(const std::string& path, int mode = 0644);
  bool is_open() const { return fd_ >= 0; }
  Status write(const void* data, size_t size);
  Status commit(bool sync = false);
  void discard();
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
  size_t size_ = 0;
};

// The same in one call: content to path.tmp, optionally fsynced, renamed.
Status write_file_atomic(const std::string& path, std::string_view content, bool sync = false);
// The same for state that must survive a crash (channel files, keys,
// tokens): created with `mode`, fsynced, renamed, and the directory fsynced,
// so a crash leaves the old file or the new one.
Status write_file_durable(const std::string& path, std::string_view content, int mode);
// mkdir -p.
Status make_dirs(const std::string& path);
Result<std::string> read_file(const std::string& path);

}  // namespace sigma

#pragma once
// A file written under "<path>.tmp" and renamed into place by commit(), so
// a reader (the origin's inotify watch, a player) never sees part of it.
// Destroyed uncommitted, it removes the temporary file.
// (Generic: belongs in base/fs.h next to write_file_atomic.)
#include <cstddef>
#include <string>

#include "base/status.h"

namespace sigma::package {

class TempFile {
 public:
  TempFile() = default;
  ~TempFile() { discard(); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  Status open(const std::string& path);
  bool is_open() const { return fd_ >= 0; }
  Status write(const void* data, size_t size);
  Status commit();
  void discard();
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
  size_t size_ = 0;
};

}  // namespace sigma::package

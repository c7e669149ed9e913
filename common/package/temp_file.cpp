#include "package/temp_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace sigma::package {

Status TempFile::open(const std::string& path) {
  discard();
  path_ = path;
  size_ = 0;
  std::string tmp = path + ".tmp";
  fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return errno_error("create " + tmp, errno);
  return {};
}

Status TempFile::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(fd_, p + off, size - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write " + path_ + ".tmp", errno);
    }
    off += static_cast<size_t>(n);
  }
  size_ += size;
  return {};
}

Status TempFile::commit() {
  std::string tmp = path_ + ".tmp";
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_error("close " + tmp, e);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_error("rename " + tmp, e);
  }
  return {};
}

void TempFile::discard() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink((path_ + ".tmp").c_str());
}

}  // namespace sigma::package

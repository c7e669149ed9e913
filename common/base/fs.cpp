#include "base/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sigma {

Status AtomicFile::open(const std::string& path, int mode) {
  discard();
  path_ = path;
  size_ = 0;
  std::string tmp = path + ".tmp";
  fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd_ < 0) return errno_error("create " + tmp, errno);
  if (mode != 0644) ::fchmod(fd_, static_cast<mode_t>(mode));  // an old .tmp keeps its mode otherwise
  return {};
}

Status AtomicFile::write(const void* data, size_t size) {
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

Status AtomicFile::commit(bool sync) {
  std::string tmp = path_ + ".tmp";
  int fd = fd_;
  fd_ = -1;
  if (sync && ::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return errno_error("fsync " + tmp, e);
  }
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

void AtomicFile::discard() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink((path_ + ".tmp").c_str());
}

Status write_file_atomic(const std::string& path, std::string_view content, bool sync) {
  AtomicFile f;
  SIGMA_RETURN_IF_ERROR(f.open(path));
  SIGMA_RETURN_IF_ERROR(f.write(content.data(), content.size()));
  return f.commit(sync);
}

Status write_file_durable(const std::string& path, std::string_view content, int mode) {
  AtomicFile f;
  SIGMA_RETURN_IF_ERROR(f.open(path, mode));
  SIGMA_RETURN_IF_ERROR(f.write(content.data(), content.size()));
  SIGMA_RETURN_IF_ERROR(f.commit(true));
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Status make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return system_error("create directory " + path + ": " + ec.message());
  return {};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error("open " + path, errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sigma

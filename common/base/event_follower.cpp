#include "base/event_follower.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "base/signals.h"

namespace sigma {
namespace {
constexpr size_t kChunk = 64 * 1024;
constexpr size_t kMaxLine = 1 << 20;  // an event line longer than this is not one of ours
constexpr int kRotationCheckMs = 1000;
}  // namespace

EventFollower::~EventFollower() {
  if (owned_ && fd_ >= 0) ::close(fd_);
  if (inotify_ >= 0) ::close(inotify_);
}

Result<std::unique_ptr<EventFollower>> EventFollower::open(const std::string& spec, uint64_t inode,
                                                           uint64_t offset) {
  std::unique_ptr<EventFollower> f(new EventFollower());
  f->spec_ = spec;
  if (spec == "-") {
    f->fd_ = 0;
    return f;
  }
  if (spec.rfind("fd:", 0) == 0) {
    char* end = nullptr;
    long n = std::strtol(spec.c_str() + 3, &end, 10);
    if (spec.size() == 3 || *end != '\0' || n < 0) return usage_error("--events-in '" + spec + "': expected fd:N");
    f->fd_ = static_cast<int>(n);
    if (fcntl(f->fd_, F_GETFD) < 0) return errno_error("--events-in " + spec, errno);
    return f;
  }
  f->path_ = spec;
  struct stat st {};
  if (::stat(spec.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
    // Read-write: the FIFO never reports EOF between two writers.
    f->fd_ = ::open(spec.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (f->fd_ < 0) return errno_error("open events FIFO " + spec, errno);
    f->owned_ = true;
    return f;
  }
  f->regular_ = true;
  size_t slash = spec.rfind('/');
  std::string dir = slash == std::string::npos ? std::string(".") : spec.substr(0, std::max<size_t>(slash, 1));
  f->inotify_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (f->inotify_ < 0) return errno_error("inotify", errno);
  if (inotify_add_watch(f->inotify_, dir.c_str(),
                        IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE) < 0)
    return errno_error("watch the events file's directory " + dir, errno);
  if (::stat(spec.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error("events file " + spec, errno);
    spdlog::info("events file {} does not exist yet: waiting for it", spec);
    return f;
  }
  uint64_t start = (st.st_ino == inode && static_cast<uint64_t>(st.st_size) >= offset) ? offset : 0;
  SIGMA_RETURN_IF_ERROR(f->reopen(start));
  return f;
}

Status EventFollower::reopen(uint64_t start) {
  if (owned_ && fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  owned_ = fd_ >= 0;
  partial_.clear();
  if (fd_ < 0) {
    if (errno == ENOENT) return {};
    return errno_error("open events file " + path_, errno);
  }
  struct stat st {};
  if (fstat(fd_, &st) != 0) return errno_error("stat events file " + path_, errno);
  inode_ = st.st_ino;
  offset_ = start;
  if (start > 0 && lseek(fd_, static_cast<off_t>(start), SEEK_SET) < 0)
    return errno_error("seek events file " + path_, errno);
  if (start > 0) spdlog::info("events file {}: resuming at byte {}", path_, start);
  return {};
}

void EventFollower::split(std::vector<std::string>& lines, bool& got) {
  size_t pos = 0, nl;
  while ((nl = partial_.find('\n', pos)) != std::string::npos) {
    if (nl > pos) {
      lines.emplace_back(partial_, pos, nl - pos);
      got = true;
    }
    offset_ += nl + 1 - pos;
    pos = nl + 1;
  }
  partial_.erase(0, pos);
  if (partial_.size() > kMaxLine) {
    spdlog::warn("events input {}: a line over {} bytes without a newline, dropped", spec_, kMaxLine);
    offset_ += partial_.size();
    partial_.clear();
  }
}

Status EventFollower::read_available(std::vector<std::string>& lines, bool& got) {
  if (fd_ < 0) return {};
  char buf[kChunk];
  // At most 1 MiB a call: a long backlog goes through in bounded bursts.
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
      return errno_error("read events " + spec_, errno);
    }
    if (n == 0) {
      if (!regular_ && path_.empty()) ended_ = true;  // a pipe's writer closed it
      return {};
    }
    partial_.append(buf, static_cast<size_t>(n));
    split(lines, got);
    if (!regular_) {
      // A pipe: take what else is there now without waiting.
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP))) return {};
    }
  }
  return {};
}

Status EventFollower::check_rotation(std::vector<std::string>& lines, bool& got) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return {};  // renamed away, not created again yet
  if (fd_ >= 0 && st.st_ino == inode_) {
    if (static_cast<uint64_t>(st.st_size) < offset_) {
      spdlog::info("events file {} was truncated: reading it from the start", path_);
      return reopen(0);
    }
    return {};
  }
  // A new file under the name: finish the old one (its writer may have
  // appended before it moved to the new file), then start the new one.
  SIGMA_RETURN_IF_ERROR(read_available(lines, got));
  if (fd_ >= 0) spdlog::info("events file {} was rotated: following the new one", path_);
  SIGMA_RETURN_IF_ERROR(reopen(0));
  return read_available(lines, got);
}

Status EventFollower::read(std::vector<std::string>& lines, int timeout_ms) {
  bool got = false;
  if (regular_) {
    SIGMA_RETURN_IF_ERROR(read_available(lines, got));
    if (got) return {};
    SIGMA_RETURN_IF_ERROR(check_rotation(lines, got));
    if (got || stop_requested()) return {};
    pollfd p[2] = {{stop_fd(), POLLIN, 0}, {inotify_, POLLIN, 0}};
    int r = poll(p, 2, std::min(timeout_ms, kRotationCheckMs));
    if (r < 0 && errno != EINTR) return errno_error("poll", errno);
    if (p[1].revents & POLLIN) {
      char buf[4096];
      while (::read(inotify_, buf, sizeof buf) > 0) {
      }
    }
    SIGMA_RETURN_IF_ERROR(read_available(lines, got));
    return check_rotation(lines, got);
  }
  if (ended_ || stop_requested()) return {};
  pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd(), POLLIN, 0}};
  int r = poll(p, stop_fd() >= 0 ? 2 : 1, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return {};
    return errno_error("poll", errno);
  }
  if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) return read_available(lines, got);
  return {};
}

}  // namespace sigma

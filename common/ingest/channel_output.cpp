#include "ingest/channel_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/fs.h"
#include "base/log.h"

namespace sigma::ingest {

namespace {
// Offset of the first TS packet carrying a PAT start in data, or npos.
size_t find_pat(const uint8_t* d, size_t n) {
  for (size_t off = 0; off + 188 <= n; off += 188)
    if (d[off] == 0x47 && (d[off + 1] & 0x5F) == 0x40 && d[off + 2] == 0) return off;
  return std::string::npos;
}
}  // namespace

ChannelOutput::ChannelOutput(int fd, std::string label, size_t capacity)
    : fd_(fd), label_(std::move(label)), capacity_(capacity) {
  int fl = fcntl(fd_, F_GETFL);
  if (fl >= 0) fcntl(fd_, F_SETFL, fl | O_NONBLOCK);
}

ChannelOutput::ChannelOutput(std::string path, size_t capacity)
    : owned_(true), path_(std::move(path)), label_(path_), capacity_(capacity) {}

ChannelOutput::~ChannelOutput() { close_fd(); }

void ChannelOutput::close_fd() {
  if (owned_ && fd_ >= 0) ::close(fd_);
  if (owned_) fd_ = -1;
}

void ChannelOutput::write(const uint8_t* data, size_t size, bool bounded) {
  if (dropping_) {
    size_t off = find_pat(data, size);
    if (off == std::string::npos) {
      bytes_dropped += size;
      return;
    }
    bytes_dropped += off;
    data += off;
    size -= off;
  }
  if (bounded && buffered() + size > capacity_) {
    if (!dropping_) {
      ++drop_events;
      spdlog::warn("output {}: reader too slow or absent, dropping (buffer {} KiB full)", label_, capacity_ / 1024);
    }
    dropping_ = true;
    bytes_dropped += size;
    return;
  }
  dropping_ = false;
  buf_.append(reinterpret_cast<const char*>(data), size);
}

void ChannelOutput::try_open(int64_t now_ms) {
  if (now_ms < next_open_ms_) return;
  next_open_ms_ = now_ms + 1000;
  std::filesystem::path p(path_);
  if (p.has_parent_path()) {
    Status st = make_dirs(p.parent_path().string());
    if (!st.is_ok()) {
      spdlog::error("output {}: {}", label_, st.message());
      return;
    }
  }
  struct stat sb;
  bool exists = ::stat(path_.c_str(), &sb) == 0;
  int flags = O_WRONLY | O_NONBLOCK | O_CLOEXEC;
  if (!exists || S_ISREG(sb.st_mode)) flags |= O_CREAT | O_APPEND;
  int fd = ::open(path_.c_str(), flags, 0644);
  if (fd < 0) {
    if (errno == ENXIO) {  // a FIFO without a reader yet
      if (!warned_no_reader_) spdlog::info("output {}: waiting for a reader", label_);
      warned_no_reader_ = true;
    } else {
      spdlog::error("output {}: open: {}", label_, std::strerror(errno));
    }
    return;
  }
  warned_no_reader_ = false;
  spdlog::info("output {}: opened", label_);
  fd_ = fd;
}

Status ChannelOutput::flush(int64_t now_ms) {
  if (fd_ < 0 && owned_) try_open(now_ms);
  if (fd_ < 0) return {};
  while (head_ < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + head_, buf_.size() - head_);
    if (n > 0) {
      head_ += size_t(n);
      bytes_written += uint64_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    int err = errno;
    if (!owned_) return errno_error("write " + label_, err);
    spdlog::warn("output {}: {}; reopening when a reader is back", label_, std::strerror(err));
    // What the lost reader did not take is stale for the next one.
    bytes_dropped += buffered();
    buf_.clear();
    head_ = 0;
    dropping_ = true;
    close_fd();
    break;
  }
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = 0;
  } else if (head_ > (1 << 20)) {
    buf_.erase(0, head_);
    head_ = 0;
  }
  return {};
}

}  // namespace sigma::ingest

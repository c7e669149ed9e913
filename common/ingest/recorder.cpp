#include "ingest/recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"

namespace sigma::ingest {

Result<std::unique_ptr<SessionRecorder>> SessionRecorder::open(const std::string& dir, const std::string& channel,
                                                               int64_t start_unix_ms, EventWriter* events) {
  SIGMA_RETURN_IF_ERROR_CTX(make_dirs(dir), "record directory");
  time_t t = time_t(start_unix_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::string base = dir + "/" + channel + "-" + stamp;
  std::string path = base + ".ts";
  int fd = -1;
  // Two sessions in the same second get distinct names.
  for (int i = 1; i < 100; ++i) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST) break;
    path = base + "-" + std::to_string(i) + ".ts";
  }
  if (fd < 0) return errno_error("create recording " + path, errno);
  return std::unique_ptr<SessionRecorder>(new SessionRecorder(fd, path, events, channel));
}

SessionRecorder::~SessionRecorder() {
  flush();
  ::close(fd_);
}

void SessionRecorder::write(const uint8_t* data, size_t size) {
  if (batch_.empty()) batch_start_ms_ = monotonic_ms();
  batch_.append(reinterpret_cast<const char*>(data), size);
  if (batch_.size() >= (256 << 10)) flush();
}

void SessionRecorder::tick(int64_t now_ms) {
  if (!batch_.empty() && now_ms - batch_start_ms_ >= 1000) flush();
}

void SessionRecorder::flush() {
  if (batch_.empty()) return;
  uint64_t mark = health_.failures();
  size_t off = 0;
  while (off < batch_.size()) {
    ssize_t n = ::write(fd_, batch_.data() + off, batch_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : ENOSPC;
      // What of the batch got in goes again: the file holds whole
      // batches (whole TS packets), and the next one lands after them.
      if (off > 0 && (::ftruncate(fd_, static_cast<off_t>(bytes_)) != 0 ||
                      ::lseek(fd_, static_cast<off_t>(bytes_), SEEK_SET) < 0))
        spdlog::warn("recording {}: cannot cut back a partial write: {}", path_, std::strerror(errno));
      health_.failed("recording " + path_ + " (" + std::to_string(batch_.size()) + " bytes)",
                     errno_error("write " + path_, e));
      batch_.clear();
      return;
    }
    off += size_t(n);
  }
  bytes_ += batch_.size();
  batch_.clear();
  health_.recovered_since(mark);
}

}  // namespace sigma::ingest

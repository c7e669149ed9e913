#include "transcode/input_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "base/signals.h"

namespace sigma::transcode {

InputSource::~InputSource() { close_fd(); }

void InputSource::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status InputSource::probe() {
  if (url_ == "-") {
    struct stat st {};
    regular_file_ = fstat(0, &st) == 0 && S_ISREG(st.st_mode);
    return {};
  }
  if (url_.find("://") != std::string::npos) return {};  // a URL: live
  struct stat st {};
  if (::stat(url_.c_str(), &st) != 0) return usage_error("input " + url_ + ": " + std::strerror(errno));
  fifo_ = S_ISFIFO(st.st_mode);
  regular_file_ = S_ISREG(st.st_mode);
  return {};
}

Result<av::InputPtr> InputSource::open(const av::InputOptions& opts) {
  if (!fifo_) return av::open_input(url_, opts);
  close_fd();
  // O_NONBLOCK: opening does not wait for a writer, so the wait below can
  // also watch the stop pipe. A fresh descriptor on Linux reports no
  // POLLHUP until a writer has come and gone.
  fd_ = ::open(url_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) return system_error("open FIFO " + url_ + ": " + std::strerror(errno));
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd(), POLLIN, 0}};
    int n = ::poll(fds, stop_fd() >= 0 ? 2 : 1, -1);
    if (n < 0 && errno != EINTR) return system_error(std::string("poll FIFO: ") + std::strerror(errno));
    if (stop_requested()) return av::InputPtr();
    if (n > 0 && (fds[0].revents & POLLIN)) break;
    if (n > 0 && (fds[0].revents & POLLHUP)) {
      // A writer came and went without data: wait for the next one.
      close_fd();
      fd_ = ::open(url_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd_ < 0) return system_error("open FIFO " + url_ + ": " + std::strerror(errno));
    }
  }
  int flags = fcntl(fd_, F_GETFL);
  fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  return av::open_input("pipe:" + std::to_string(fd_), opts);
}

}  // namespace sigma::transcode

#include "av/fifo.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/signals.h"

namespace sigma::av {

bool is_fifo(const std::string& path) {
  struct stat st {};
  return path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

namespace {

// True while path still names the FIFO that fd reads.
bool same_fifo(int fd, const std::string& path) {
  struct stat a {}, b {};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<int> wait_for_fifo_data(const std::string& path) {
  // O_NONBLOCK: the open does not wait for a writer. A fresh descriptor on
  // Linux reports no POLLHUP until a writer has come and gone.
  auto open_reader = [&]() -> Result<int> {
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return kFifoRemoved;
    if (fd < 0) return errno_error("open FIFO " + path, errno);
    return fd;
  };
  SIGMA_ASSIGN_OR_RETURN(int fd, open_reader());
  if (fd < 0) return fd;
  for (;;) {
    if (stop_requested()) {
      ::close(fd);
      return kFifoStopped;
    }
    // A second's timeout: a FIFO unlinked under us never wakes the poll.
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd(), POLLIN, 0}};
    int n = ::poll(fds, stop_fd() >= 0 ? 2 : 1, 1000);
    if (n < 0 && errno != EINTR) {
      int e = errno;
      ::close(fd);
      return errno_error("wait for a writer on " + path, e);
    }
    if (n == 0 && !same_fifo(fd, path)) {
      ::close(fd);
      return kFifoRemoved;
    }
    if (n <= 0) continue;
    if (fds[0].revents & POLLIN) return fd;
    if (fds[0].revents & (POLLHUP | POLLERR)) {
      // A writer came and went without data: wait for the next one.
      ::close(fd);
      SIGMA_ASSIGN_OR_RETURN(fd, open_reader());
      if (fd < 0) return fd;
    }
  }
}

}  // namespace sigma::av

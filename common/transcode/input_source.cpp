#include "transcode/input_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "av/fifo.h"
#include "base/log.h"
#include "base/signals.h"

namespace sigma::transcode {

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
  SIGMA_ASSIGN_OR_RETURN(int guard, av::wait_for_fifo_data(url_));
  if (guard < 0) return av::InputPtr();  // stopped, or the FIFO removed, while waiting
  auto in = av::open_input(url_, opts);
  ::close(guard);  // the real reader is open now
  return in;
}

}  // namespace sigma::transcode

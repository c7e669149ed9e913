#include "base/events.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/log.h"
#include "base/time.h"

namespace sigma {

EventWriter::~EventWriter() {
  if (owned_ && fd_ >= 0) close(fd_);
}

Status EventWriter::open(const std::string& target) {
  if (target.empty()) return {};
  if (target == "-") {
    fd_ = 2;
    return {};
  }
  if (target.rfind("fd:", 0) == 0) {
    try {
      fd_ = std::stoi(target.substr(3));
    } catch (...) {
      return usage_error("events target '" + target + "': expected fd:N");
    }
    if (fcntl(fd_, F_GETFD) < 0) return errno_error("events fd " + target.substr(3), errno);
    return {};
  }
  fd_ = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return errno_error("open events file " + target, errno);
  owned_ = true;
  return {};
}

void EventWriter::emit(const std::string& type, const std::string& channel, nlohmann::json fields) {
  if (fd_ < 0) return;
  nlohmann::json j = nlohmann::json::object();
  j["time"] = now_iso8601();
  if (!channel.empty()) j["channel"] = channel;
  j["type"] = type;
  for (auto& [k, v] : fields.items()) j[k] = v;
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size()))
    spdlog::warn("event {} not written: {}", type, n < 0 ? std::strerror(errno) : "short write");
}

}  // namespace sigma

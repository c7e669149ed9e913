#include "http/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/time.h"

namespace sigma::http {

AccessLog::~AccessLog() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

Status AccessLog::open(const std::string& path) {
  if (path.empty()) return {};
  if (path == "-") {
    fd_ = 1;
    return {};
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return errno_error("open access log " + path, errno);
  owned_ = true;
  return {};
}

std::string access_record_json(const AccessRecord& r) {
  nlohmann::json j = {
      {"time", iso8601_utc(r.unix_ms)},
      {"client", r.client},
      {"method", r.method},
      {"path", r.path},
      {"status", r.status},
      {"bytes", r.bytes},
      {"duration_ms", std::round(r.duration_ms * 1000.0) / 1000.0},
      {"user_agent", r.user_agent},
  };
  if (!r.query.empty()) j["query"] = r.query;
  if (!r.referer.empty()) j["referer"] = r.referer;
  if (!r.session.empty()) {
    j["session"] = r.session;
    j["session_source"] = r.session_source;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void AccessLog::write(const AccessRecord& r) {
  if (fd_ < 0) return;
  std::string line = access_record_json(r);
  ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size()))
    spdlog::warn("access log line not written: {}", n < 0 ? std::strerror(errno) : "short write");
}

}  // namespace sigma::http

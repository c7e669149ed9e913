#include "base/events.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <mutex>

#include "base/log.h"
#include "base/time.h"

namespace sigma {
namespace {

std::string& event_tool() {
  static std::string tool;
  return tool;
}

void random_bytes(uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = getrandom(p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      // No entropy source at all: fall back to time and pid; ids stay
      // unique in this process through the counter.
      uint64_t x = static_cast<uint64_t>(unix_ms_now()) * 6364136223846793005ULL + getpid();
      for (size_t i = 0; i < n; ++i, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
        p[i] = static_cast<uint8_t>(x >> 56);
      return;
    }
    p += r;
    n -= static_cast<size_t>(r);
  }
}

}  // namespace

void set_event_tool(std::string_view tool) { event_tool() = std::string(tool); }

std::string new_event_id() {
  static std::mutex mu;
  static int64_t last_ms = 0;
  static uint16_t counter = 0;
  uint8_t b[16];
  random_bytes(b, sizeof b);
  int64_t ms;
  {
    std::lock_guard<std::mutex> lock(mu);
    ms = unix_ms_now();
    if (ms <= last_ms) {
      // The same millisecond (or the clock stepped back): count on from
      // the last id; a full counter moves on to the next millisecond.
      ms = last_ms;
      if (++counter > 0x0fff) {
        ++ms;
        counter = 0;
      }
    } else {
      counter = static_cast<uint16_t>(((b[6] << 8) | b[7]) & 0x07ff);  // random start, room to count
    }
    last_ms = ms;
    b[6] = static_cast<uint8_t>(0x70 | (counter >> 8));
    b[7] = static_cast<uint8_t>(counter & 0xff);
  }
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(static_cast<uint64_t>(ms) >> (40 - 8 * i));
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

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
  j["id"] = new_event_id();
  j["time"] = now_iso8601();
  if (!event_tool().empty()) j["tool"] = event_tool();
  if (!channel.empty()) j["channel"] = channel;
  j["type"] = type;
  for (auto& [k, v] : fields.items()) j[k] = v;
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size()))
    spdlog::warn("event {} not written: {}", type, n < 0 ? std::strerror(errno) : "short write");
}

}  // namespace sigma

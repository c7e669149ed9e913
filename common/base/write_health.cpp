#include "base/write_health.h"

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "base/time.h"

namespace sigma {

bool is_no_space(const Status& st) {
  if (st.is_ok()) return false;
  const std::string& m = st.message();
  return m.find(std::strerror(ENOSPC)) != std::string::npos || m.find(std::strerror(EDQUOT)) != std::string::npos ||
         m.find("database or disk is full") != std::string::npos;
}

void WriteHealth::failed(const std::string& what, const Status& st) {
  ++failures_;
  ++lost_;
  if (failing_) {
    spdlog::debug("{}{}{}: {} not written: {}", channel_, channel_.empty() ? "" : ": ", writer_, what, st.message());
    return;
  }
  failing_ = true;
  lost_ = 1;
  since_ms_ = unix_ms_now();
  first_error_ = st.message();
  bool full = is_no_space(st);
  spdlog::error("{}{}{}: {} not written: {}; going on without it and trying again with the next one{}", channel_,
                channel_.empty() ? "" : ": ", writer_, what, st.message(),
                full ? " (the filesystem is full)" : "");
  if (events_)
    events_->emit("output.failed", channel_,
                  {{"writer", writer_}, {"what", what}, {"error", st.message()}, {"no_space", full}});
}

void WriteHealth::recovered_since(uint64_t mark) {
  if (!failing_ || failures_ != mark) return;
  failing_ = false;
  int64_t for_ms = unix_ms_now() - since_ms_;
  spdlog::info("{}{}{}: writing again after {:.1f} s; {} piece(s) lost meanwhile", channel_,
               channel_.empty() ? "" : ": ", writer_, static_cast<double>(for_ms) / 1000.0, lost_);
  if (events_)
    events_->emit("output.recovered", channel_,
                  {{"writer", writer_}, {"lost", lost_}, {"seconds", static_cast<double>(for_ms) / 1000.0},
                   {"since", iso8601_utc(since_ms_)}, {"error", first_error_}});
}

}  // namespace sigma

#pragma once
// "Are we keeping up with a live input?" Time spent working (everything
// but waiting for input) is compared with the media time it covered; the
// difference accumulates, never below zero, so a backlog of work shows up
// however the input's sender buffers. Past max_lag seconds it reports once
// and starts counting again, which gives a shed rung time to take effect.
#include <cstdint>
#include <optional>

namespace sigma::transcode {

class LagMonitor {
 public:
  // max_lag_s <= 0 disables the monitor (regular files, --max-lag 0).
  explicit LagMonitor(double max_lag_s) : max_lag_ms_(static_cast<int64_t>(max_lag_s * 1000)) {}
  // Media position (90 kHz) of the latest video packet; jumped: do not
  // count the distance from the previous one.
  void media_at(int64_t ts90k, bool jumped);
  void waited_ms(int64_t ms) { waited_ms_ += ms; }
  // Returns the lag in seconds when it crossed the limit.
  std::optional<double> check(int64_t now_ms);

 private:
  int64_t max_lag_ms_;
  int64_t last_ts_ = INT64_MIN;
  int64_t media_ms_ = 0, waited_ms_ = 0;
  int64_t window_start_ = -1;
  int64_t debt_ms_ = 0;
};

}  // namespace sigma::transcode

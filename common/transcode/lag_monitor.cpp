#include "transcode/lag_monitor.h"

#include <algorithm>

namespace sigma::transcode {

void LagMonitor::media_at(int64_t ts, bool jumped) {
  if (last_ts_ != INT64_MIN && !jumped && ts > last_ts_) media_ms_ += (ts - last_ts_) / 90;
  last_ts_ = ts;
}

std::optional<double> LagMonitor::check(int64_t now_ms) {
  if (max_lag_ms_ <= 0) return std::nullopt;
  if (window_start_ < 0) {
    window_start_ = now_ms;
    media_ms_ = waited_ms_ = 0;
    return std::nullopt;
  }
  int64_t elapsed = now_ms - window_start_;
  if (elapsed < 500) return std::nullopt;
  int64_t busy = elapsed - waited_ms_;
  debt_ms_ = std::max<int64_t>(0, debt_ms_ + busy - media_ms_);
  window_start_ = now_ms;
  media_ms_ = waited_ms_ = 0;
  if (debt_ms_ <= max_lag_ms_) return std::nullopt;
  double lag = debt_ms_ / 1000.0;
  debt_ms_ = 0;
  return lag;
}

}  // namespace sigma::transcode

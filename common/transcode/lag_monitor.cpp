#include "transcode/lag_monitor.h"

#include <algorithm>

namespace sigma::transcode {

namespace {
// How long a recovery must last before the wait falls back to its base:
// a rung that held for this many waits was affordable after all.
constexpr int kSettledWaits = 4;
constexpr int kMaxBackoff = 8;
}  // namespace

LagMonitor::LagMonitor(double max_lag_s, double recover_after_s)
    : max_lag_ms_(static_cast<int64_t>(max_lag_s * 1000)),
      base_hold_ms_(static_cast<int64_t>(recover_after_s * 1000)),
      hold_ms_(base_hold_ms_) {}

void LagMonitor::media_at(int64_t ts, bool jumped) {
  if (last_ts_ != INT64_MIN && !jumped && ts > last_ts_) media_ms_ += (ts - last_ts_) / 90;
  last_ts_ = ts;
}

LagMonitor::Verdict LagMonitor::check(int64_t now_ms, bool shed) {
  Verdict v;
  if (max_lag_ms_ <= 0) return v;
  if (window_start_ < 0) {
    window_start_ = now_ms;
    media_ms_ = waited_ms_ = 0;
    return v;
  }
  int64_t elapsed = now_ms - window_start_;
  if (elapsed < 500) return v;
  int64_t busy = elapsed - waited_ms_;
  int64_t window_began = window_start_;
  debt_ms_ = std::max<int64_t>(0, debt_ms_ + busy - media_ms_);
  window_start_ = now_ms;
  media_ms_ = waited_ms_ = 0;
  if (debt_ms_ > max_lag_ms_) {
    v.kind = Verdict::kBehind;
    v.behind_s = debt_ms_ / 1000.0;
    debt_ms_ = 0;
    calm_since_ = -1;
    // Behind again soon after bringing a rung back: wait longer next time.
    if (last_recovery_ >= 0 && now_ms - last_recovery_ < 2 * hold_ms_)
      hold_ms_ = std::min(hold_ms_ * 2, base_hold_ms_ * kMaxBackoff);
    last_behind_ = now_ms;
    return v;
  }
  if (last_recovery_ >= 0 && hold_ms_ != base_hold_ms_ && now_ms - std::max(last_recovery_, last_behind_) >=
                                                               kSettledWaits * hold_ms_)
    hold_ms_ = base_hold_ms_;
  // "Small" leaves room for the jitter of a live sender.
  if (debt_ms_ > max_lag_ms_ / 4) {
    calm_since_ = -1;
    return v;
  }
  if (calm_since_ < 0) calm_since_ = window_began;
  if (!shed || base_hold_ms_ <= 0 || now_ms - calm_since_ < hold_ms_) return v;
  v.kind = Verdict::kCaughtUp;
  last_recovery_ = now_ms;
  calm_since_ = now_ms;  // the next rung waits its own turn
  return v;
}

}  // namespace sigma::transcode

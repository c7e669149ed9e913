#pragma once
// "Are we keeping up with a live input?" Time spent working (everything
// but waiting for input) is compared with the media time it covered; the
// difference accumulates, never below zero, so a backlog of work shows up
// however the input's sender buffers. Past max_lag seconds it reports
// "behind" once and starts counting again, which gives a shed rung time to
// take effect. Once the backlog has stayed small for recover_after seconds
// while something is shed it reports "caught up"; if the machine falls
// behind again soon after, the wait doubles (up to 8x) so a rung that the
// machine cannot afford does not flap in and out every few seconds.
#include <cstdint>

namespace sigma::transcode {

class LagMonitor {
 public:
  // max_lag_s <= 0 disables the monitor (regular files, --max-lag 0);
  // recover_after_s <= 0 never reports "caught up".
  LagMonitor(double max_lag_s, double recover_after_s);
  // Media position (90 kHz) of the latest video packet; jumped: do not
  // count the distance from the previous one.
  void media_at(int64_t ts90k, bool jumped);
  void waited_ms(int64_t ms) { waited_ms_ += ms; }

  struct Verdict {
    enum Kind { kNone, kBehind, kCaughtUp } kind = kNone;
    double behind_s = 0;  // for kBehind
  };
  // shed: whether anything is shed now (only then can we catch up).
  Verdict check(int64_t now_ms, bool shed);
  // Current wait before a "caught up", in ms (doubles while flapping).
  int64_t recover_after_ms() const { return hold_ms_; }

 private:
  int64_t max_lag_ms_;
  int64_t base_hold_ms_, hold_ms_;
  int64_t last_ts_ = INT64_MIN;
  int64_t media_ms_ = 0, waited_ms_ = 0;
  int64_t window_start_ = -1;
  int64_t debt_ms_ = 0;
  int64_t calm_since_ = -1;      // debt small since then; -1: not calm
  int64_t last_recovery_ = -1;   // when "caught up" was last reported
  int64_t last_behind_ = -1;
};

}  // namespace sigma::transcode

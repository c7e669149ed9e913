#include "transcode/timeline.h"

#include <algorithm>

namespace sigma::transcode {

Timeline::Mapped Timeline::map(int stream, int64_t ts, int64_t step) {
  Mapped out;
  if (step <= 0) step = 1;
  int64_t m = ts + offset_;
  if (session_break_ && !last_.empty()) {
    int64_t newest = INT64_MIN;
    for (const auto& [s, t] : last_) newest = std::max(newest, t);
    offset_ += newest + step - m;
    m = newest + step;
    out.jumped = true;
  } else if (auto it = last_.find(stream); it != last_.end()) {
    int64_t delta = m - it->second;
    if (delta < 0 || delta > max_gap_) {
      offset_ += it->second + step - m;
      m = it->second + step;
      out.jumped = true;
    }
  }
  session_break_ = false;
  last_[stream] = m;
  out.ts = m;
  return out;
}

KeyframeSchedule::Decision KeyframeSchedule::next(int64_t pts, bool input_key) {
  Decision d;
  if (follow_input_) {
    // Until the first input keyframe nothing can be aligned with the
    // source rung: the first encoded frame still has to be a keyframe.
    d.keyframe = !started_ || (input_key && pts - last_key_pts_ >= interval_ - tolerance_);
    if (d.keyframe) last_key_pts_ = pts;
  } else {
    if (!started_) origin_ = pts;
    int64_t rel = pts - origin_;
    // Floor division: a frame may come back from before the origin.
    int64_t index = rel >= 0 ? rel / interval_ : -((-rel + interval_ - 1) / interval_);
    d.keyframe = index > last_index_;
    if (d.keyframe) last_index_ = index;
  }
  started_ = true;
  if (d.keyframe) since_key_ = 0;
  d.keep_at_half_rate = since_key_ % 2 == 0;
  ++since_key_;
  return d;
}

}  // namespace sigma::transcode

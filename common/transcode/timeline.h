#pragma once
// Output timestamps that never go backwards. A live input jumps (encoder
// restart, a FIFO writer that comes back, two files concatenated, a 33-bit
// wrap); the timeline keeps one offset for all streams, so audio and video
// stay in sync, and re-anchors it whenever a stream's timestamps leave the
// window (previous, previous + max_gap].
#include <cstdint>
#include <map>

namespace sigma::transcode {

class Timeline {
 public:
  // Units are the caller's (Sigma uses 90 kHz ticks throughout).
  explicit Timeline(int64_t max_gap) : max_gap_(max_gap) {}

  struct Mapped {
    int64_t ts = 0;
    bool jumped = false;  // the offset changed at this packet
  };
  // ts: the packet's dts (or pts) on the input clock; step: its expected
  // distance from the previous one of the same stream (a frame or packet
  // duration), used to place the first packet after a jump.
  Mapped map(int stream, int64_t ts, int64_t step);
  // Applies the current offset without checking (a frame's pts).
  int64_t apply(int64_t ts) const { return ts + offset_; }
  // The next packet of any stream re-anchors right after everything
  // emitted so far: a new input session begins.
  void new_session() { session_break_ = true; }
  int64_t offset() const { return offset_; }

 private:
  int64_t max_gap_;
  int64_t offset_ = 0;
  bool session_break_ = false;
  std::map<int, int64_t> last_;  // per stream, mapped
};

// Decides which frames start a GOP: the first frame at or after each
// multiple of the interval counted from the first frame, computed from the
// (mapped) pts alone, so every rung cuts at the same frames. Counting from
// the first frame (not from pts 0) keeps the packager's first segment as
// long as the others.
//
// With a source rung (the input passed through) the grid would miss the
// input's own keyframes whenever they are not on it (a publisher's GOP that
// is not the interval, a new input after a FIFO reopen): then the schedule
// follows the input instead, taking an input keyframe as a keyframe when
// at least an interval (less half a frame) has passed since the last one,
// so the source rung and the encoded rungs cut at the same frames.
class KeyframeSchedule {
 public:
  KeyframeSchedule(int64_t interval, bool follow_input, int64_t frame_step = 0)
      : interval_(interval), follow_input_(follow_input), tolerance_(frame_step / 2) {}
  struct Decision {
    bool keyframe = false;
    bool keep_at_half_rate = false;  // even frame count since the last keyframe
  };
  // input_key: the decoded frame was a keyframe in the input.
  Decision next(int64_t pts, bool input_key = false);
  // The next frame is a keyframe and the intervals count from it (a new
  // picture size: every rung starts again there, together).
  void restart() {
    started_ = false;
    last_index_ = INT64_MIN;
  }

 private:
  int64_t interval_;
  bool follow_input_;
  int64_t tolerance_;
  int64_t last_key_pts_ = 0;
  int64_t last_index_ = INT64_MIN;
  int64_t origin_ = 0;
  bool started_ = false;
  int64_t since_key_ = 0;
};

}  // namespace sigma::transcode

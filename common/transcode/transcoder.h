#pragma once
// sigma-transcode's work: one decode, a ladder of scalers and x264
// encoders with keyframes at the same timestamps on every rung, audio
// passed through or encoded to AAC, one MPEG-TS out.
#include <string>

#include "base/events.h"
#include "base/status.h"

namespace sigma::transcode {

struct TranscodeParams {
  std::string input = "-";
  std::string output = "-";
  std::string preset = "720p";       // used when ladder is empty
  std::string ladder;                // --ladder WxH@RATE,...
  std::string mode = "normal";       // normal | low | ultra-low
  double keyframe_interval = 0;      // seconds; 0 = the mode's default
  double segment_duration = 0;       // seconds; when set, the interval must divide it
  std::string x264_preset = "veryfast";
  std::string x264_params;           // the user's, after Sigma's economy (see rung_encoder.h)
  int half_fps_at_or_below = 0;      // rung height; 0 = never halve
  std::string scaler = "bicubic";        // from the decoded frame
  std::string cascade_scaler = "lanczos"; // from a larger rung's frame
  bool cascade = true;               // scale each rung from the next larger one
  int encoder_threads = 1;           // x264 threads per rung (0 = auto)
  int decoder_threads = 1;           // 1: decode on the reading thread, least CPU; 0 = one per core + 1
  double max_lag = 3.0;              // seconds behind real time before shedding; 0 = never shed
  double recover_after = 30.0;       // seconds caught up before a shed rung comes back; 0 = never
  int test_slow_rung_ms = 0;         // test only: the largest rung sleeps this long per frame
  int64_t audio_bitrate = 128000;    // when audio is encoded
  std::string channel;               // for events
  int ready_fd = -1;
};

Status run_transcode(TranscodeParams p, EventWriter& events);

}  // namespace sigma::transcode

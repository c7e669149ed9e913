#pragma once
// Opens libx264 (through libavcodec) for one rung with the settings that
// make a ladder switchable and packageable: keyframes only where Sigma
// forces them (IDR, no scenecut, closed GOP), VBV so each rung's rate
// stays near its target, and the target carried in the stream itself
// (nal-hrd=vbr writes bit_rate/cpb_size into the SPS HRD parameters).
#include <string>

#include "av/av.h"
#include "transcode/ladder.h"

namespace sigma::transcode {

struct EncoderSettings {
  LatencyMode mode = LatencyMode::kNormal;
  std::string x264_preset = "veryfast";
  AVRational frame_rate{30, 1};   // of the input; halved rungs get half
  double keyframe_interval = 2.0; // seconds; only a safety net here
  int threads = 1;                // x264 threads per rung (0 = x264 decides)
  std::string x264_params;        // the user's "key=value:...", checked by check_x264_params
};

// Refuses --x264-params that are malformed or would set what Sigma
// controls (keyframes, rate control): "key=value" pairs joined by ':'.
Status check_x264_params(const std::string& params);

Result<av::CodecPtr> open_rung_encoder(const Rung& rung, const EncoderSettings& s);

}  // namespace sigma::transcode

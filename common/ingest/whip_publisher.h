#pragma once
// Internal to the WHIP code of the ingest layer (whip_ingest.cpp and
// whip_http.cpp).
#include <climits>
#include <deque>
#include <memory>
#include <string>

#include "ingest/whip_ingest.h"

namespace sigma::ingest {

// The event loop's side of one WHIP session.
struct WhipIngest::Publisher {
  uint64_t id = 0;
  std::string token;
  std::shared_ptr<webrtc::WhipSession> session;
  Channel* ch = nullptr;
  std::unique_ptr<TsSink> ts;
  std::unique_ptr<FlvToMedia> conv;
  bool video = false, audio = false;
  int64_t created_ms = 0;
  int64_t base_us = INT64_MIN;  // media time 0 of the session (less 1 s)
  uint64_t bytes = 0;
  int width = 0, height = 0;
  // Keyframes: the last one's time, and the last request.
  int64_t interval_us = 2000000;
  int64_t last_key_us = -1;
  int64_t last_pts_us = -1;
  bool requested = false;
  int64_t request_pts_us = 0, request_ms = 0;
  int64_t frame_us = 0;  // the frame duration, smoothed
  bool announced = false;  // stream.started emitted
  std::deque<int64_t> lags_us;  // request to keyframe, media time, the last few
};

}  // namespace sigma::ingest

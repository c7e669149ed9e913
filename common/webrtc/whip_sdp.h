#pragma once
// The WHIP offer before it reaches webrtcbin: a plain reading of the SDP
// text that refuses what sigma-ingest cannot take (with a reason the HTTP
// answer carries) and keeps, in each media section, only the one codec we
// take, so the answer names that codec alone and the publisher sends it.
// H.264 (packetization-mode 1, baseline profiles first) for video, Opus for
// audio; RTX, RED and FEC payloads go too (webrtcbin answers without them).
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sigma::webrtc {

struct OfferCheck {
  std::string sdp;  // the offer with one payload type per media section
  bool video = false, audio = false;
  int video_pt = -1, audio_pt = -1;
  std::string video_fmtp;  // the H.264 fmtp parameters kept
  bool bundle = false;     // a=group:BUNDLE (browsers, OBS); aiortc 1.4 sends none
};

// kData status with a reason ("offer has video in VP8, VP9 only: ...") when
// the text is not an SDP offer or a media section has no codec we take.
Result<OfferCheck> check_offer(std::string_view sdp);

// "a=candidate:..." lines of an application/trickle-ice-sdpfrag body (RFC
// 8840), without the "a=" prefix; ufrag receives its a=ice-ufrag if any.
std::vector<std::string> sdpfrag_candidates(std::string_view frag, std::string& ufrag);

// The a=ice-ufrag of an SDP (the first one), "" if none.
std::string sdp_ice_ufrag(std::string_view sdp);

}  // namespace sigma::webrtc

#pragma once
// One WHIP publisher's WebRTC session on GStreamer's webrtcbin (libnice
// ICE, DTLS-SRTP): the only place in Sigma that includes GStreamer. It
// takes the SDP offer, answers with every local candidate gathered (no
// trickle needed: OBS does none), and hands out what it receives as
// access units: H.264 in AVCC form with its avcC record, and Opus decoded
// and re-encoded as AAC (FFmpeg's native encoder, avenc_aac) with its
// AudioSpecificConfig. Keyframes are asked for with RTCP PLI/FIR on
// request. Media and state changes arrive on GStreamer's threads; the
// session queues them and calls `wake` (which must be cheap and
// thread-safe); the owner takes them from its own thread.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "webrtc/whip_sdp.h"

namespace sigma::webrtc {

struct WhipOptions {
  std::string address;  // local address for ICE candidates; empty: every interface
  int port_min = 0, port_max = 0;  // UDP range for ICE; 0: any
  int jitter_latency_ms = 200;     // webrtcbin's jitterbuffer
  int aac_bitrate = 128000;
  int gather_timeout_ms = 5000;
};

struct WhipUnit {
  bool video = false;
  bool key = false;
  int64_t pts_us = 0;
  int64_t dts_us = 0;
  std::string data;    // AVCC (4-byte lengths) or a raw AAC frame
  std::string config;  // non-empty when the decoder setup changed: avcC or ASC
  int width = 0, height = 0;          // video config
  int sample_rate = 0, channels = 0;  // audio config
};

// Checks that GStreamer and the elements a session needs are installed
// (system error naming the missing one and its Debian package).
Status check_webrtc_support();

class WhipSession {
 public:
  ~WhipSession();
  WhipSession(const WhipSession&) = delete;
  WhipSession& operator=(const WhipSession&) = delete;

  // Negotiates (set the offer, answer, gather); kData when webrtcbin
  // refuses the offer, kSystem when it cannot start.
  static Result<std::unique_ptr<WhipSession>> create(const OfferCheck& offer, const WhipOptions& opts,
                                                     std::function<void()> wake);

  const std::string& answer() const { return answer_; }
  // Trickled remote candidates ("candidate:..." lines).
  void add_remote_candidate(const std::string& candidate);
  // Asks the publisher for a keyframe (RTCP PLI, or FIR).
  void request_keyframe();

  std::deque<WhipUnit> take();
  // The ICE/DTLS connection failed or closed; why says how.
  bool failed(std::string* why = nullptr) const;
  bool connected() const { return connected_.load(); }
  uint64_t bytes_received() const { return bytes_.load(); }
  int64_t last_media_mono_ms() const { return last_media_ms_.load(); }
  // Stops the pipeline and frees its threads and sockets (idempotent).
  void close();

  // GStreamer callbacks (public for the C trampolines).
  void on_pad_added(void* pad);
  void on_sample(bool video, void* sink);
  void on_state_change();
  void on_bus_error(const std::string& what);

 private:
  WhipSession() = default;
  Status start(const OfferCheck& offer, const WhipOptions& opts);
  void push(WhipUnit u);

  void* pipeline_ = nullptr;  // GstElement*
  void* webrtc_ = nullptr;
  void* video_sink_ = nullptr;
  std::function<void()> wake_;
  WhipOptions opts_;
  std::string answer_;
  mutable std::mutex mu_;
  std::mutex close_mu_;  // close() against add_remote_candidate() (HTTP thread)
  std::deque<WhipUnit> queue_;
  std::string vconfig_, aconfig_;  // last handed out (streaming threads)
  std::string failure_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<int64_t> last_media_ms_{0};
  size_t queued_bytes_ = 0;
};

}  // namespace sigma::webrtc

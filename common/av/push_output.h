#pragma once
// A live push to a remote server: FLV over rtmp:// or rtmps:// (libavformat's
// rtmp protocols), MPEG-TS over srt://. Every blocking call (connect, the
// RTMP handshake, each write) runs under an interrupt callback with a
// deadline and an abort flag, so a stalled or silent server costs the
// calling thread at most the timeout and a stop is never waited for.
// One thread uses an instance.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "av/av.h"

namespace sigma::av {

struct PushOptions {
  int64_t connect_timeout_ms = 5000;  // open + header (TCP, TLS, RTMP handshake, publish)
  int64_t write_timeout_ms = 5000;    // one packet
  const std::atomic<bool>* abort = nullptr;  // set: the current call returns at once
};

class PushOutput {
 public:
  PushOutput() = default;
  ~PushOutput() { close(); }
  PushOutput(const PushOutput&) = delete;
  PushOutput& operator=(const PushOutput&) = delete;

  // streams[i] as FLV gives them (avcC/hvcC/ASC extradata); the muxer
  // converts for MPEG-TS. Errors say what failed with the URL redacted.
  Status open(const std::string& url, const std::vector<const AVCodecParameters*>& streams, const PushOptions& opts);
  // pkt (timestamps in tb) is consumed.
  Status write(int stream, AVPacket* pkt, AVRational tb);
  // Trailer (bounded by the write timeout), then close.
  Status finish();
  // Close without a trailer (after an error).
  void close();
  bool is_open() const { return ctx_ != nullptr; }
  uint64_t bytes_written() const { return bytes_; }

 private:
  static int interrupt(void* opaque);
  void arm(int64_t timeout_ms);

  OutputPtr ctx_;
  PushOptions opts_;
  std::string shown_;  // redacted URL
  std::atomic<int64_t> deadline_ms_{0};
  bool timed_out_ = false;
  uint64_t bytes_ = 0;
};

}  // namespace sigma::av

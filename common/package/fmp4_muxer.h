#pragma once
// fMP4 through libavformat's mp4 muxer, on a custom AVIOContext that hands
// bytes to the caller as they are produced: the header (ftyp+moov,
// empty_moov) is the init segment; each flush() closes one fragment
// (moof+mdat) = one CMAF chunk/part. One track (CMAF), or a video track
// with its audio muxed in (ultra-low's variants). Nothing is buffered here
// beyond the muxer's own fragment buffer.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "av/av.h"
#include "base/status.h"

namespace sigma::package {

class Fmp4Muxer {
 public:
  // Receives muxer output; returns false on a write error (the Status is
  // kept by the sink's owner).
  using ByteSink = std::function<bool(const uint8_t* data, size_t size)>;

  // pars: the tracks' codec parameters (with extradata: SPS/PPS, ASC), in
  // the order of AVPacket::stream_index; in_tb: time base of the packets
  // given to write().
  static Result<std::unique_ptr<Fmp4Muxer>> open(const std::vector<const AVCodecParameters*>& pars,
                                                 AVRational in_tb);
  ~Fmp4Muxer();
  Fmp4Muxer(const Fmp4Muxer&) = delete;
  Fmp4Muxer& operator=(const Fmp4Muxer&) = delete;

  const std::string& init() const { return init_; }
  // pkt's timestamps are in in_tb, its stream_index names the track; pkt
  // is not retained but is modified (rescaled) and unreferenced.
  Status write(AVPacket* pkt);
  // Closes the current fragment; its bytes go to sink. Nothing buffered:
  // no call to sink.
  Status flush(const ByteSink& sink);
  bool has_samples() const { return pending_ > 0; }

 private:
  Fmp4Muxer() = default;
  static int on_write(void* opaque, uint8_t* buf, int size);

  av::OutputPtr ctx_;
  av::IOContextPtr io_;
  AVRational in_tb_{1, 90000};
  std::string init_;
  const ByteSink* sink_ = nullptr;  // set during flush
  bool sink_failed_ = false;
  bool capturing_init_ = false;
  int pending_ = 0;
};

}  // namespace sigma::package

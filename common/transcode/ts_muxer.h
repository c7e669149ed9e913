#pragma once
// One MPEG-TS output shared by the rung threads: streams are added before
// start(), then write() may be called from any thread. Each stream's dts
// is kept strictly increasing so a stray packet cannot abort the muxer.
#include <mutex>
#include <string>
#include <vector>

#include "av/av.h"

namespace sigma::transcode {

class TsMuxer {
 public:
  // url: "-" for stdout, a path, or any URL libavformat writes to.
  Status open(const std::string& url);
  // Returns the new stream's index. The codec context must be open.
  Result<int> add_stream(const AVCodecContext* enc);
  Result<int> add_stream(const AVCodecParameters* par, AVRational time_base);
  // max_interleave_us: how long the muxer may hold packets to
  // interleave streams; live modes keep it short.
  Status start(int64_t max_interleave_us);
  // pkt timestamps are in tb; pkt is consumed (unreferenced).
  Status write(int stream, AVPacket* pkt, AVRational tb);
  // Flushes the interleaving queue and writes the trailer.
  Status finish();
  const std::string& url() const { return url_; }

 private:
  std::mutex mu_;
  av::OutputPtr ctx_;
  std::string url_;
  std::vector<int64_t> last_dts_;
  bool started_ = false, failed_ = false;
  int64_t dropped_ = 0;
};

}  // namespace sigma::transcode

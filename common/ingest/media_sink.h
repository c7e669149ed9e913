#pragma once
// Where the packets of one RTMP publish go once the FLV is parsed: an
// MPEG-TS muxer (for a FIFO, stdout or the recording) and/or the channel's
// in-process HLS packager. A sink sees a set of streams open, their
// packets, and the set finish; a new session or a changed sequence header
// opens a new set on the same sink.
#include <cstdint>
#include <vector>

#include "av/av.h"
#include "base/status.h"

namespace sigma::ingest {

class MediaSink {
 public:
  virtual ~MediaSink() = default;
  // streams[i] carries extradata as FLV gives it (avcC, hvcC, ASC).
  virtual Status open(const std::vector<const AVCodecParameters*>& streams) = 0;
  // pkt of stream index, timestamps in tb; consumed (unreferenced).
  virtual Status write(int index, AVPacket* pkt, AVRational tb) = 0;
  virtual Status finish() = 0;
  virtual bool is_open() const = 0;
  // Packets the sink could not place (timestamps going backwards, ...).
  virtual uint64_t dropped_packets() const { return 0; }
};

}  // namespace sigma::ingest

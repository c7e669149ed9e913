#pragma once
// A channel's in-process HLS output (--hls): the FLV-derived packets go
// straight into the package layer's ChannelPackager (segmenter, playlists,
// segment.written events), with no MPEG-TS mux, FIFO or demux in between.
// It belongs to the channel and outlives publishers: a session that ends
// leaves the playlists live, and the next one continues them after an
// EXT-X-DISCONTINUITY, as sigma-package does when its FIFO writer returns.
#include <cstdint>
#include <string>
#include <vector>

#include "av/av.h"
#include "base/events.h"
#include "ingest/media_sink.h"
#include "package/channel_packager.h"

namespace sigma::ingest {

class HlsSink : public MediaSink {
 public:
  // p: resolved package parameters (out_dir, mode, window, channel, ...).
  HlsSink(package::PackageParams p, EventWriter& events) : packager_(std::move(p), events) {}

  Status open(const std::vector<const AVCodecParameters*>& streams) override;
  Status write(int index, AVPacket* pkt, AVRational tb) override;
  // The session's streams end; the playlists stay open for the next one.
  Status finish() override;
  bool is_open() const override { return open_; }
  uint64_t dropped_packets() const override { return uint64_t(packager_.dropped_packets()); }
  // No session follows (shutdown): the playlists get their ENDLIST.
  Status close();

  const package::ChannelPackager& packager() const { return packager_; }
  const std::string& dir() const { return packager_.params().out_dir; }
  // Longest time one packager call took (file writes on the event loop).
  int64_t max_call_us() const { return max_call_us_; }
  void reset_max_call() { max_call_us_ = 0; }

 private:
  struct Stream {
    av::BsfPtr bsf;  // avcC/hvcC -> Annex B, as the packager gets from MPEG-TS
    AVRational tb{0, 0};
    // FLV timestamps are whole milliseconds (AAC frames alternate 21 and
    // 22 ms): a packet waits for the next one so that its duration is the
    // true gap, and a fragment never ends past where the next one starts.
    av::PacketPtr held = av::make_packet();
    bool holding = false;
  };
  Status hold(int index, AVPacket* pkt);
  Status feed(int index, AVPacket* pkt);
  Status release_held();
  void note_time(int64_t start_us);

  package::ChannelPackager packager_;
  std::vector<Stream> streams_;
  bool open_ = false;
  bool broken_ = false;  // a write failed: drop the rest of the session
  av::PacketPtr out_ = av::make_packet();
  int64_t max_call_us_ = 0;
};

}  // namespace sigma::ingest

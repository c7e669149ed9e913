#pragma once
// A channel's in-process HLS output (--hls): the FLV-derived packets go
// straight into the package layer's ChannelPackager (segmenter, playlists,
// segment.written events), with no MPEG-TS mux, FIFO or demux in between.
// It belongs to the channel and outlives publishers: a session that ends
// leaves the playlists live, and the next one continues them after an
// EXT-X-DISCONTINUITY, as sigma-package does when its FIFO writer returns.
//
// The event loop calls it; the packaging itself runs on the
// PackagingThread, so file writes never stall the sockets. Packets that do
// not fit in that thread's queue are dropped up to the next video keyframe.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "av/av.h"
#include "base/events.h"
#include "ingest/media_sink.h"
#include "ingest/packaging_thread.h"
#include "package/package_params.h"

namespace sigma::ingest {

class HlsSink : public MediaSink {
 public:
  // p: resolved package parameters (out_dir, mode, window, channel, ...).
  // events and worker outlive the sink.
  HlsSink(package::PackageParams p, EventWriter& events, PackagingThread& worker);
  ~HlsSink() override;

  Status open(const std::vector<const AVCodecParameters*>& streams) override;
  // An error only when the packager failed on an earlier packet of this
  // session (bad codec, disk): the session should end.
  Status write(int index, AVPacket* pkt, AVRational tb) override;
  // The session's streams end; the playlists stay open for the next one.
  Status finish() override;
  bool is_open() const override { return open_; }
  uint64_t dropped_packets() const override;
  // No session follows (shutdown): the playlists get their ENDLIST once the
  // packaging thread has run it (PackagingThread::drain).
  void close();

  const std::string& dir() const;
  const std::string& mode() const;
  int64_t segments() const;
  // Longest packaging task, on the packaging thread (disk stalls show here).
  int64_t max_call_us() const;

  struct Core;  // what the packaging thread works on

 private:
  void end_session();

  std::shared_ptr<Core> core_;
  PackagingThread& worker_;
  bool open_ = false;
  uint64_t session_ = 0;
  std::vector<bool> video_;  // per stream of the session
  bool resync_ = false;      // after a drop: nothing until a video keyframe
  uint64_t dropped_ = 0;
};

}  // namespace sigma::ingest

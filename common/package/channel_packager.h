#pragma once
// One channel's packaging behind a packet interface: the Segmenter, the
// HlsPublisher and the EventListener wired together with the track plan and
// the resume point of an earlier run. sigma-package feeds it from its
// MPEG-TS demuxer; sigma-ingest feeds it the packets of RTMP publishers
// directly (no MPEG-TS in between). Inputs come and go (a FIFO writer, a
// publisher's session); the playlists stay, with a discontinuity between.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "av/av.h"
#include "base/events.h"
#include "base/write_health.h"
#include "base/status.h"
#include "package/package_params.h"

namespace sigma::package {

class Segmenter;
class HlsPublisher;
class EventListener;

// One stream of an input, as the demuxer (or the FLV parser) describes it.
struct InputStream {
  const AVCodecParameters* par = nullptr;
  bool attached_pic = false;  // a cover image: never a track
};

class ChannelPackager {
 public:
  // p: resolved (resolve_params). events: where segment.written goes; it
  // must outlive the packager.
  ChannelPackager(PackageParams p, EventWriter& events);
  ~ChannelPackager();
  ChannelPackager(const ChannelPackager&) = delete;
  ChannelPackager& operator=(const ChannelPackager&) = delete;

  // A new input begins. The first one decides the tracks (and is refused
  // with a data error when it has a codec CMAF cannot carry); later ones
  // are matched by kind and order and start a discontinuity. label names
  // the input in messages. start_us: AVFormatContext::start_time or
  // AV_NOPTS_VALUE.
  Status start_input(const std::vector<InputStream>& streams, int64_t start_us, const std::string& label);
  // pkt of stream (index into start_input's list), timestamps in tb.
  // Consumed. Streams without a track are dropped.
  Status write(int stream, AVPacket* pkt, AVRational tb);
  // final: no input follows (the playlists end); otherwise the next
  // start_input continues them after a discontinuity.
  Status end_input(bool final);
  // After a fatal write error: drops unfinished temporary files.
  void abort();

  bool started() const { return segmenter_ != nullptr; }
  bool has_track(int stream) const {
    return stream >= 0 && stream < static_cast<int>(track_of_stream_.size()) && track_of_stream_[stream] >= 0;
  }
  int64_t segments() const;
  int64_t dropped_packets() const;
  // The tracks of the first input, as stream.started describes them.
  const nlohmann::json& tracks() const { return tracks_json_; }
  const PackageParams& params() const { return p_; }

 private:
  Status open(const std::vector<InputStream>& streams, const std::string& label);

  PackageParams p_;
  EventWriter& events_;
  std::vector<std::string> names_;
  std::vector<int> track_of_stream_;
  nlohmann::json tracks_json_ = nlohmann::json::array();
  // Failed writes (a full disk) of the segmenter and the publisher: told
  // as output.failed / output.recovered events; the packager goes on.
  WriteHealth health_;
  std::unique_ptr<HlsPublisher> publisher_;
  std::unique_ptr<EventListener> listener_;
  std::unique_ptr<Segmenter> segmenter_;
};

// Creates dir and checks that files can be renamed into it (usage error
// otherwise: retrying will not help).
Status check_output_dir(const std::string& dir);

}  // namespace sigma::package

#pragma once
// Turns the FLV packets of one RTMP publish into AVPackets for its sinks
// (MPEG-TS muxer, in-process HLS packager): waits for the sequence headers
// announced by onMetaData (or a few seconds of media), then opens the sinks
// with codec parameters that carry them as extradata. A changed sequence
// header finishes and reopens them (new PAT/PMT, HLS discontinuity).
#include <deque>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "ingest/media_sink.h"
#include "rtmp/amf0.h"
#include "rtmp/flv.h"

namespace sigma::ingest {

class FlvToMedia {
 public:
  // on_started receives a description of the streams (codecs, size, fps,
  // bitrate) each time the sinks open. The sinks outlive this object.
  FlvToMedia(std::vector<MediaSink*> sinks, std::function<void(const nlohmann::json&)> on_started);

  void set_metadata(const rtmp::AmfValue& meta);
  Status add(const rtmp::FlvPacket& pkt, int64_t dts_ms);
  Status finish();
  nlohmann::json describe() const;
  uint64_t video_frames() const { return video_frames_; }
  uint64_t dropped_packets() const;

 private:
  struct Pending {
    bool video;
    bool key;
    int64_t dts;
    int32_t cts;
    std::string data;
  };
  bool ready_to_start() const;
  Status start();
  Status write(bool video, bool key, int64_t dts, int32_t cts, std::string_view data);
  bool is_open() const { return open_; }
  Status finish_sinks();

  std::vector<MediaSink*> sinks_;
  std::function<void(const nlohmann::json&)> on_started_;
  bool open_ = false;
  rtmp::VideoCodec vcodec_ = rtmp::VideoCodec::kNone;
  rtmp::AudioCodec acodec_ = rtmp::AudioCodec::kNone;
  std::string vconfig_, aconfig_;
  int sample_rate_ = 0, channels_ = 0;
  bool expect_video_ = true, expect_audio_ = true;
  bool have_video_ = false, have_audio_ = false;
  int vindex_ = -1, aindex_ = -1;
  std::deque<Pending> pending_;
  size_t pending_bytes_ = 0;
  nlohmann::json meta_ = nlohmann::json::object();
  uint64_t video_frames_ = 0;
  uint64_t dropped_ = 0;
  av::PacketPtr pkt_ = av::make_packet();
  av::PacketPtr copy_ = av::make_packet();
};

}  // namespace sigma::ingest

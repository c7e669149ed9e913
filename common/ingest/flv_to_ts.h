#pragma once
// Turns the FLV packets of one RTMP publish into MPEG-TS: waits for the
// sequence headers announced by onMetaData (or a few seconds of media),
// then opens a TsMuxer whose codec parameters carry them as extradata.
// A changed sequence header restarts the muxer (new PAT/PMT).
#include <deque>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "ingest/ts_muxer.h"
#include "rtmp/amf0.h"
#include "rtmp/flv.h"

namespace sigma::ingest {

class FlvToTs {
 public:
  // on_started receives a description of the streams (codecs, size, fps,
  // bitrate) each time the muxer starts.
  FlvToTs(TsMuxer::Sink sink, std::function<void(const nlohmann::json&)> on_started);

  void set_metadata(const rtmp::AmfValue& meta);
  Status add(const rtmp::FlvPacket& pkt, int64_t dts_ms);
  Status finish();
  nlohmann::json describe() const;
  uint64_t video_frames() const { return video_frames_; }
  uint64_t dropped_packets() const { return dropped_ + mux_.dropped_packets(); }

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

  TsMuxer::Sink sink_;
  std::function<void(const nlohmann::json&)> on_started_;
  TsMuxer mux_;
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
};

}  // namespace sigma::ingest

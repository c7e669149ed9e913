#pragma once
// A channel's restream targets as one MediaSink beside its TS muxer and HLS
// packager: every packet of an RTMP publish goes (by reference) to each
// target's bounded queue, and each target pushes on its own thread
// (restream_target.h). The sink never fails the session, whatever the
// targets do. It lives as long as the channel; a reload changes its set of
// targets (configure) without touching the others or the channel.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/events.h"
#include "ingest/media_sink.h"
#include "ingest/restream_target.h"

namespace sigma::ingest {

class ChannelRestream : public MediaSink {
 public:
  ChannelRestream(std::string channel, RestreamTiming timing) : channel_(std::move(channel)), timing_(timing) {}

  // Targets not in specs stop (restream.stopped), new ones start (on the
  // next keyframe when the channel is live); one whose URL changed is a
  // new one; the rest are not touched.
  void configure(const std::vector<RestreamSpec>& specs);
  bool empty() const { return targets_.empty(); }
  size_t size() const { return targets_.size(); }

  Status open(const std::vector<const AVCodecParameters*>& streams) override;
  Status write(int index, AVPacket* pkt, AVRational tb) override;
  Status finish() override;
  bool is_open() const override { return streams_ != nullptr; }

  // From the event loop: the targets' events, with the channel's name.
  void emit_notices(EventWriter& events);
  // One entry per target; rates over period_ms (0: keep the last).
  nlohmann::json status(int64_t period_ms);

 private:
  std::string channel_;
  RestreamTiming timing_;
  std::vector<std::unique_ptr<RestreamTarget>> targets_;
  std::shared_ptr<const RestreamStreams> streams_;  // null between sessions
  std::vector<nlohmann::json> notices_;             // of targets removed
};

}  // namespace sigma::ingest

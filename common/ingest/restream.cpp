#include "ingest/restream.h"

#include <algorithm>

#include "base/log.h"

namespace sigma::ingest {

void ChannelRestream::configure(const std::vector<RestreamSpec>& specs) {
  std::vector<std::unique_ptr<RestreamTarget>> next;
  for (const auto& spec : specs) {
    auto it = std::find_if(targets_.begin(), targets_.end(), [&](auto& t) { return t && t->spec() == spec; });
    if (it != targets_.end()) {
      next.push_back(std::move(*it));
      continue;
    }
    spdlog::info("channel {}: restream {} to {} added", channel_, spec.name, redact_url(spec.url));
    auto t = std::make_unique<RestreamTarget>(channel_, spec, timing_);
    if (streams_) t->open_session(streams_);
    next.push_back(std::move(t));
  }
  for (auto& t : targets_) {
    if (!t) continue;
    spdlog::info("channel {}: restream {} removed", channel_, t->spec().name);
    auto leftover = t->take_notices();
    notices_.insert(notices_.end(), leftover.begin(), leftover.end());
    notices_.push_back({{"type", "restream.stopped"},
                        {"fields", {{"target", t->spec().name}, {"url", redact_url(t->spec().url)},
                                    {"reason", "removed from the config"}}}});
    t.reset();  // aborts its I/O and joins its thread
  }
  targets_ = std::move(next);
}

Status ChannelRestream::open(const std::vector<const AVCodecParameters*>& streams) {
  auto s = std::make_shared<RestreamStreams>();
  for (const AVCodecParameters* par : streams) {
    RestreamStreams::ParPtr copy(avcodec_parameters_alloc());
    if (!copy || avcodec_parameters_copy(copy.get(), par) < 0) return internal_error("out of memory");
    bool video = par->codec_type == AVMEDIA_TYPE_VIDEO;
    s->video.push_back(video);
    s->has_video = s->has_video || video;
    s->pars.push_back(std::move(copy));
  }
  streams_ = s;
  for (auto& t : targets_) t->open_session(streams_);
  return {};
}

Status ChannelRestream::write(int index, AVPacket* pkt, AVRational tb) {
  for (auto& t : targets_) t->push(index, pkt, tb);
  av_packet_unref(pkt);
  return {};
}

Status ChannelRestream::finish() {
  if (!streams_) return {};
  streams_.reset();
  for (auto& t : targets_) t->end_session();
  return {};
}

void ChannelRestream::emit_notices(EventWriter& events) {
  auto emit = [&](nlohmann::json& n) { events.emit(n["type"].get<std::string>(), channel_, n["fields"]); };
  for (auto& n : notices_) emit(n);
  notices_.clear();
  for (auto& t : targets_)
    for (auto& n : t->take_notices()) emit(n);
}

nlohmann::json ChannelRestream::status(int64_t period_ms) {
  nlohmann::json list = nlohmann::json::array();
  for (auto& t : targets_) list.push_back(t->status(period_ms));
  return list;
}

}  // namespace sigma::ingest

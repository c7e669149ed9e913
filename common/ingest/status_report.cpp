#include "ingest/status_report.h"

#include "base/time.h"

namespace sigma::ingest {

nlohmann::json channel_json(const Channel& ch, int64_t now) {
  nlohmann::json j = {
      {"channel", ch.name},
      {"live", ch.live},
      {"sessions", ch.sessions},
      {"bytes_in", ch.bytes_in},
      {"video_frames", ch.video_frames},
      {"input_kbps", std::round(ch.input_kbps * 10) / 10},
      {"fps", std::round(ch.fps * 100) / 100},
      {"dropped_packets", ch.dropped_packets},
  };
  j["last_packet_age_ms"] = ch.last_packet_mono_ms > 0 ? nlohmann::json(now - ch.last_packet_mono_ms) : nlohmann::json();
  if (ch.live) {
    j["protocol"] = ch.protocol;
    j["remote"] = ch.remote;
    j["since"] = iso8601_utc(ch.started_unix_ms);
    j["stream"] = ch.info;
  }
  if (ch.output) {
    j["output"] = {{"target", ch.output->label()},
                   {"connected", ch.output->connected()},
                   {"buffered_bytes", ch.output->buffered()},
                   {"bytes_written", ch.output->bytes_written},
                   {"dropped_bytes", ch.output->bytes_dropped},
                   {"drop_events", ch.output->drop_events}};
  }
  if (ch.hls) {
    j["hls"] = {{"dir", ch.hls->dir()},
                {"mode", ch.hls->mode()},
                {"segments", ch.hls->segments()},
                {"max_write_ms", std::round(double(ch.hls->max_call_us()) / 100) / 10}};
  }
  if (ch.recorder) j["recording"] = ch.recorder->path();
  if (ch.failover) j["input"] = ch.failover->status(now);
  return j;
}

nlohmann::json status_json(std::map<std::string, std::unique_ptr<Channel>>& channels, const ServerCounters& c,
                           int64_t now, int64_t period_ms) {
  nlohmann::json list = nlohmann::json::array();
  for (auto& [name, ch] : channels) {
    if (period_ms > 0) {
      ch->input_kbps = double(ch->rate_bytes) * 8.0 / double(period_ms);
      ch->fps = double(ch->rate_frames) * 1000.0 / double(period_ms);
      ch->rate_bytes = ch->rate_frames = 0;
    }
    if (!ch->live) ch->input_kbps = ch->fps = 0;
    list.push_back(channel_json(*ch, now));
    if (ch->restream && !ch->restream->empty()) list.back()["restream"] = ch->restream->status(period_ms);
  }
  return {{"time", now_iso8601()},
          {"connections", c.connections},
          {"accepted", c.accepted},
          {"rejected", c.rejected},
          {"timeouts", c.timeouts},
          {"protocol_errors", c.protocol_errors},
          {"loop_max_ms", std::round(double(c.loop_max_us) / 100) / 10},
          {"channels", list}};
}

}  // namespace sigma::ingest

#include "ingest/whip_ingest.h"
#include "ingest/whip_publisher.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "base/log.h"
#include "base/time.h"
#include "rtmp/amf0.h"

namespace sigma::ingest {


Status parse_whip_udp(const std::string& spec, WhipParams& p) {
  std::string range = spec;
  size_t colon = spec.rfind(':');
  if (colon != std::string::npos) {
    p.udp_address = spec.substr(0, colon);
    if (p.udp_address.size() > 2 && p.udp_address.front() == '[' && p.udp_address.back() == ']')
      p.udp_address = p.udp_address.substr(1, p.udp_address.size() - 2);
    range = spec.substr(colon + 1);
  }
  size_t dash = range.find('-');
  try {
    size_t used = 0;
    p.port_min = std::stoi(range.substr(0, dash), &used);
    p.port_max = dash == std::string::npos ? p.port_min : std::stoi(range.substr(dash + 1));
  } catch (const std::exception&) {
    return usage_error("--whip-udp wants [ADDR:]MIN-MAX, got '" + spec + "'");
  }
  if (p.port_min < 1 || p.port_max > 65535 || p.port_min > p.port_max)
    return usage_error("--whip-udp: bad port range '" + range + "' (1-65535, MIN <= MAX)");
  return {};
}

void WhipIngest::reap(std::shared_ptr<webrtc::WhipSession> s) {
  if (!s) return;
  {
    std::lock_guard lk(reap_mu_);
    reap_.push_back(std::move(s));
  }
  reap_cv_.notify_one();
}

void WhipIngest::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(efd_, &one, sizeof one);
}

std::future<std::string> WhipIngest::post(std::unique_ptr<Command> c) {
  auto f = c->done.get_future();
  {
    std::lock_guard lk(mu_);
    commands_.push_back(std::move(c));
  }
  wake();
  return f;
}

void WhipIngest::open(Command& c, int64_t now) {
  rtmp::PublishVerdict verdict = rtmp::PublishVerdict::kBadName;
  Channel* ch = hub_.begin_publish(c.key, "whip", c.remote, c.id, verdict);
  if (!ch) {
    c.done.set_value(verdict == rtmp::PublishVerdict::kBusy ? "busy" : "refused");
    return;
  }
  auto pub = std::make_unique<Publisher>();
  pub->id = c.id;
  pub->session = c.session;
  pub->ch = ch;
  pub->video = c.offer.video;
  pub->audio = c.offer.audio;
  pub->created_ms = now;
  double k = p_.keyframe_interval_s > 0 ? p_.keyframe_interval_s : keyframe_interval_(ch->name);
  pub->interval_us = int64_t(std::max(0.2, k) * 1e6);
  ch->last_packet_mono_ms = now;
  std::vector<MediaSink*> sinks;
  if (ch->wants_ts()) {
    pub->ts = std::make_unique<TsSink>([ch](const uint8_t* d, size_t n) { ch->write_ts(d, n); });
    sinks.push_back(pub->ts.get());
  }
  if (ch->hls) sinks.push_back(ch->hls.get());
  if (ch->restream) sinks.push_back(ch->restream.get());
  Publisher* raw = pub.get();
  pub->conv = std::make_unique<FlvToMedia>(std::move(sinks), [this, raw](const nlohmann::json& info) {
    // Browsers change the picture size as their bandwidth estimate moves:
    // the sinks reopen (a new init segment), the session goes on.
    if (raw->announced) {
      spdlog::info("channel {}: WHIP publisher now sends {}", raw->ch->name, info.dump());
      return;
    }
    raw->announced = true;
    hub_.stream_started(*raw->ch, info);
  });
  std::vector<rtmp::AmfProperty> meta;
  if (pub->video) meta.push_back({"videocodecid", rtmp::AmfValue::num(7)});
  if (pub->audio) meta.push_back({"audiocodecid", rtmp::AmfValue::num(10)});
  meta.push_back({"encoder", rtmp::AmfValue::str("WebRTC (WHIP)")});
  pub->conv->set_metadata(rtmp::AmfValue::object(std::move(meta)));
  pubs_.emplace(c.id, std::move(pub));
  c.done.set_value("");
}

void WhipIngest::feed(Publisher& pub, webrtc::WhipUnit& u, int64_t now) {
  if (pub.base_us == INT64_MIN) pub.base_us = u.dts_us - 1000000;
  int64_t dts_ms = (u.dts_us - pub.base_us) / 1000;
  if (dts_ms < 0) return;  // older than the session's first unit by over a second
  rtmp::FlvPacket pkt;
  pkt.video = u.video;
  pkt.vcodec = u.video ? rtmp::VideoCodec::kH264 : rtmp::VideoCodec::kNone;
  pkt.acodec = u.video ? rtmp::AudioCodec::kNone : rtmp::AudioCodec::kAac;
  Status st;
  if (!u.config.empty()) {
    if (u.video && (u.width != pub.width || u.height != pub.height)) {
      pub.width = u.width;
      pub.height = u.height;
      std::vector<rtmp::AmfProperty> meta;
      if (pub.video) meta.push_back({"videocodecid", rtmp::AmfValue::num(7)});
      if (pub.audio) meta.push_back({"audiocodecid", rtmp::AmfValue::num(10)});
      meta.push_back({"width", rtmp::AmfValue::num(u.width)});
      meta.push_back({"height", rtmp::AmfValue::num(u.height)});
      meta.push_back({"encoder", rtmp::AmfValue::str("WebRTC (WHIP)")});
      pub.conv->set_metadata(rtmp::AmfValue::object(std::move(meta)));
    }
    pkt.kind = rtmp::FlvPacket::Kind::kConfig;
    pkt.data = u.config;
    st = pub.conv->add(pkt, dts_ms);
  }
  if (st.is_ok()) {
    pkt.kind = rtmp::FlvPacket::Kind::kFrame;
    pkt.keyframe = u.key;
    pkt.composition_ms = int32_t((u.pts_us - u.dts_us) / 1000);
    pkt.data = u.data;
    uint64_t frames = pub.conv->video_frames(), dropped = pub.conv->dropped_packets();
    st = pub.conv->add(pkt, dts_ms);
    uint64_t nf = pub.conv->video_frames() - frames;
    pub.ch->video_frames += nf;
    pub.ch->rate_frames += nf;
    pub.ch->dropped_packets += pub.conv->dropped_packets() - dropped;
  }
  if (!st.is_ok()) spdlog::warn("channel {}: WHIP media: {}", pub.ch->name, st.message());
  pub.ch->last_packet_mono_ms = now;
  if (u.video) keyframes(pub, u, now);
}

// Browsers' encoders send a keyframe when asked and rarely otherwise. The
// request goes out early by the shortest recent request-to-keyframe delay,
// so the keyframe lands at (not before) the interval: the segmenter cuts
// on the first keyframe a segment duration after the last cut.
void WhipIngest::keyframes(Publisher& pub, const webrtc::WhipUnit& u, int64_t now) {
  if (u.key) {
    pub.last_pts_us = u.pts_us;
    if (pub.requested) {
      pub.lags_us.push_back(std::max<int64_t>(0, u.pts_us - pub.request_pts_us));
      if (pub.lags_us.size() > 5) pub.lags_us.pop_front();
    }
    pub.last_key_us = u.pts_us;
    pub.requested = false;
    return;
  }
  if (pub.last_pts_us >= 0 && u.pts_us > pub.last_pts_us) {
    int64_t d = u.pts_us - pub.last_pts_us;
    pub.frame_us = pub.frame_us ? (pub.frame_us * 7 + d) / 8 : d;
  }
  int64_t lead = pub.lags_us.empty() ? 0 : *std::min_element(pub.lags_us.begin(), pub.lags_us.end());
  // A quarter frame early at most: the segmenter takes a keyframe half a
  // frame before its cut.
  bool due = pub.last_key_us < 0 || u.pts_us + lead + pub.frame_us / 4 >= pub.last_key_us + pub.interval_us;
  if (due && (!pub.requested || now - pub.request_ms > 2000)) {
    // Asked again after two seconds: the RTCP packet may have been lost.
    if (!pub.requested) pub.request_pts_us = u.pts_us;
    pub.requested = true;
    pub.request_ms = now;
    spdlog::debug("WHIP {}: keyframe asked at {} (last {}, lead {})", pub.id, u.pts_us / 1000, pub.last_key_us / 1000, lead / 1000);
    pub.session->request_keyframe();
  }
  pub.last_pts_us = u.pts_us;
}

void WhipIngest::on_wake(int64_t now) {
  uint64_t v;
  while (::read(efd_, &v, sizeof v) > 0) {
  }
  std::deque<std::unique_ptr<Command>> cmds;
  {
    std::lock_guard lk(mu_);
    cmds.swap(commands_);
  }
  for (auto& c : cmds) {
    if (c->kind == Command::Kind::kOpen) {
      open(*c, now);
    } else {
      bool found = pubs_.count(c->id) > 0;
      if (found) end(c->id, c->reason);
      c->done.set_value(found ? "" : "gone");
    }
  }
  std::vector<std::pair<uint64_t, std::string>> failed;
  for (auto& [id, pub] : pubs_) {
    auto units = pub->session->take();
    for (auto& u : units) {
      pub->bytes += u.data.size();
      pub->ch->bytes_in += u.data.size();
      pub->ch->session_bytes_in += u.data.size();
      pub->ch->rate_bytes += u.data.size();
      feed(*pub, u, now);
    }
    std::string why;
    if (pub->session->failed(&why)) failed.emplace_back(id, why);
  }
  for (auto& [id, why] : failed) {
    spdlog::warn("WHIP session {}: {}", id, why);
    end(id, "error");
  }
}

void WhipIngest::tick(int64_t now) {
  std::vector<uint64_t> expired;
  for (auto& [id, pub] : pubs_) {
    int64_t last = std::max(pub->created_ms, pub->session->last_media_mono_ms());
    if (now - last > int64_t(p_.timeout_s) * 1000) expired.push_back(id);
    else if (pub->video && pub->last_key_us < 0 && pub->session->connected() && now - pub->request_ms > 1000) {
      pub->request_ms = now;  // no keyframe yet: ask every second
      pub->session->request_keyframe();
    }
  }
  for (uint64_t id : expired) {
    spdlog::warn("channel {}: WHIP publisher {}: no media for {} s", pubs_[id]->ch->name, pubs_[id]->ch->remote,
                 p_.timeout_s);
    end(id, "timeout");
  }
}

void WhipIngest::end(uint64_t id, const std::string& reason) {
  auto it = pubs_.find(id);
  if (it == pubs_.end()) return;
  auto pub = std::move(it->second);
  pubs_.erase(it);
  {
    std::lock_guard lk(mu_);
    for (auto r = resources_.begin(); r != resources_.end(); ++r)
      if (r->second.id == id) {
        resources_.erase(r);
        break;
      }
  }
  if (pub->conv) {
    Status st = pub->conv->finish();
    if (!st.is_ok()) spdlog::warn("channel {}: {}", pub->ch->name, st.message());
  }
  hub_.end_publish(*pub->ch, id, reason);
  reap(std::move(pub->session));
}

void WhipIngest::kick(uint64_t source, const std::string& reason) { end(source, reason); }

}  // namespace sigma::ingest

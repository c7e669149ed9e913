#include <cstring>

#include "base/log.h"
#include "base/time.h"
#include "ingest/server_state.h"
#include "package/channel_packager.h"

namespace sigma::ingest::detail {

std::optional<std::string> Server::resolve(const std::string& key, std::string& reason, bool& busy) {
  busy = false;
  std::optional<std::string> name;
  auto keys = this->keys();
  if (keys) name = keys->channel_for(key);
  if (!name && p_.open_mode && valid_channel_name(key)) name = key;
  if (!name) {
    reason = key.empty() ? "no stream key" : "unknown stream key";
    return std::nullopt;
  }
  if (p_.listed_only && !routes()->listed(*name)) {
    reason = "channel '" + *name + "' is not served here (not in the channels file)";
    return std::nullopt;
  }
  bool hls = routes()->for_channel(*name).has_value();
  std::lock_guard lk(live_mu_);
  if (single_target_ && !hls && !single_channel_.empty() && single_channel_ != *name) {
    reason = "the output carries channel '" + single_channel_ + "' only (use --output with {channel})";
    return std::nullopt;
  }
  if (live_names_.count(*name) && !p_.replace) {
    reason = "channel '" + *name + "' already has a publisher";
    busy = true;
    return std::nullopt;
  }
  return name;
}

Result<Channel*> Server::channel(const std::string& name) {
  auto it = channels_.find(name);
  if (it != channels_.end()) return it->second.get();
  if (channels_.size() >= kMaxChannels) return usage_error("too many channels");
  auto ch = std::make_unique<Channel>();
  ch->name = name;
  size_t cap = p_.buffer_kib * 1024;
  auto hls = routes_->for_channel(name);
  if (hls) {
    SIGMA_RETURN_IF_ERROR(package::check_output_dir(hls->out_dir));
    if (!packaging_) packaging_ = std::make_unique<PackagingThread>(kPackagingQueueBytes);
    ch->hls = std::make_unique<HlsSink>(*hls, events_, *packaging_);
    spdlog::info("channel {}: HLS into {} ({} mode)", name, hls->out_dir, hls->mode);
  } else if (p_.output_template.empty()) {
    ch->output = std::make_unique<ChannelOutput>(1, "stdout", cap);
  } else {
    std::string path = p_.output_template;
    for (size_t pos; (pos = path.find("{channel}")) != std::string::npos;) path.replace(pos, 9, name);
    ch->output = std::make_unique<ChannelOutput>(path, cap);
  }
  if (!hls) {
    std::lock_guard lk(live_mu_);
    if (single_target_ && single_channel_.empty()) single_channel_ = name;
  }
  ch->restream = std::make_unique<ChannelRestream>(name, RestreamTiming{});
  ch->restream->configure(restream_->for_channel(name));
  if (auto fo = routes_->failover(name)) {
    // The publishers (and a pulled backup) write into the switch; it feeds
    // the channel's outputs.
    std::vector<MediaSink*> outs;
    Channel* c = ch.get();
    if (ch->output || !routes_->record_dir(name, p_.record_dir).empty()) {
      ch->failover_ts = std::make_unique<TsSink>([c](const uint8_t* d, size_t n) { c->write_ts(d, n); });
      outs.push_back(ch->failover_ts.get());
    }
    if (ch->hls) outs.push_back(ch->hls.get());
    if (ch->restream) outs.push_back(ch->restream.get());
    ch->failover = std::make_unique<InputSwitch>(name, *fo, outs, events_);
    spdlog::info("channel {}: failover to {}{} after {} ms without media", name,
                 !fo->backup_key.empty() ? "a backup publisher" : !fo->backup_url.empty() ? "a pulled backup" : "no backup",
                 fo->slate == "off" ? "" : ", else the slate", fo->failover_after_ms);
  }
  Channel* raw = ch.get();
  channels_.emplace(name, std::move(ch));
  return raw;
}

void Server::reject(const std::string& protocol, const std::string& remote, const std::string& reason) {
  ++counters_.rejected;
  spdlog::warn("publish refused ({} from {}): {}", protocol, remote, reason);
  events_.emit("publish.rejected", "", {{"protocol", protocol}, {"remote", remote}, {"reason", reason}});
}

void Server::start_session(Channel& ch, uint64_t owner, const std::string& protocol, const std::string& remote) {
  int64_t now = monotonic_ms();
  ch.live = true;
  ch.owner = owner;
  ch.protocol = protocol;
  ch.remote = remote;
  ch.started_mono_ms = now;
  ch.started_unix_ms = unix_ms_now();
  ch.session_bytes_in = 0;
  ch.info = nlohmann::json::object();
  ch.ts_remainder.clear();
  ch.flow_controlled = paced_pulls_.count(owner) > 0;
  ch.last_packet_mono_ms = now;
  ++ch.sessions;
  {
    std::lock_guard lk(live_mu_);
    live_names_.insert(ch.name);
  }
  if (std::string dir = routes_->record_dir(ch.name, p_.record_dir); !dir.empty()) {
    auto rec = SessionRecorder::open(dir, ch.name, ch.started_unix_ms, &events_);
    if (rec.is_ok()) ch.recorder = std::move(*rec);
    else spdlog::error("channel {}: {}", ch.name, rec.status().message());
  }
  spdlog::info("channel {}: {} publisher {} connected (session {})", ch.name, protocol, remote, ch.sessions);
  if (ch.restream && !ch.restream->empty() && protocol != "rtmp" && protocol != "whip")
    spdlog::warn("channel {}: restream takes RTMP and WHIP publishers; this {} session is not pushed to its {} target(s)",
                 ch.name, protocol, ch.restream->size());
}

void Server::kick(Channel& ch, const std::string& reason) {
  uint64_t owner = ch.owner;
  auto it = conns_.find(owner);
  if (it != conns_.end()) {
    it->second->end(reason);
    close_connection(owner, reason);
    return;
  }
  if (whip_ && whip_->owns(owner)) return whip_->kick(owner, reason);  // ends the publish
  if (srt_ && byte_sources_.count(owner)) srt_->close_source(owner);
  end_publish(ch, owner, reason);
  byte_sources_.erase(owner);
}

Channel* Server::begin_publish(const std::string& key, const std::string& protocol, const std::string& remote,
                               uint64_t source, rtmp::PublishVerdict& verdict) {
  if (auto backup_of = routes()->backup_channel(key)) return begin_backup(*backup_of, remote, source, verdict);
  std::string reason;
  bool busy = false;
  auto name = resolve(key, reason, busy);
  if (!name) {
    verdict = busy ? rtmp::PublishVerdict::kBusy : rtmp::PublishVerdict::kBadName;
    reject(protocol, remote, reason);
    return nullptr;
  }
  auto ch = channel(*name);
  if (!ch.is_ok()) {
    verdict = rtmp::PublishVerdict::kBadName;
    reject(protocol, remote, ch.status().message());
    return nullptr;
  }
  Channel* c = *ch;
  if (c->live) {
    if (pull_ids_.count(c->owner)) {
      verdict = rtmp::PublishVerdict::kBusy;
      reject(protocol, remote, "channel '" + c->name + "' is fed by a pull input");
      return nullptr;
    }
    spdlog::info("channel {}: replacing the current publisher {}", c->name, c->remote);
    kick(*c, "replaced");
  }
  start_session(*c, source, protocol, remote);
  return c;
}

Channel* Server::begin_backup(const std::string& name, const std::string& remote, uint64_t source,
                              rtmp::PublishVerdict& verdict) {
  auto ch = channel(name);
  if (!ch.is_ok() || !(*ch)->failover) {
    verdict = rtmp::PublishVerdict::kBadName;
    reject("rtmp", remote, ch.is_ok() ? "channel '" + name + "' has no failover" : ch.status().message());
    return nullptr;
  }
  Channel* c = *ch;
  InputSwitch& sw = *c->failover;
  if (sw.backup_source) {
    if (!p_.replace) {
      verdict = rtmp::PublishVerdict::kBusy;
      reject("rtmp", remote, "channel '" + name + "' already has a backup publisher");
      return nullptr;
    }
    uint64_t old = sw.backup_source;
    spdlog::info("channel {}: replacing the backup publisher {}", name, sw.backup_remote);
    if (auto it = conns_.find(old); it != conns_.end()) {
      it->second->end("replaced");
      close_connection(old, "replaced");
    }
  }
  sw.backup_source = source;
  sw.backup_remote = remote;
  spdlog::info("channel {}: backup publisher {} connected", name, remote);
  return c;
}

void Server::stream_started(Channel& ch, const nlohmann::json& info) {
  ch.info = info;
  nlohmann::json fields = info;
  fields["protocol"] = ch.protocol;
  fields["remote"] = ch.remote;
  fields["session"] = ch.sessions;
  if (ch.hls) {
    fields["output"] = ch.hls->dir();
    fields["mode"] = ch.hls->mode();
  }
  spdlog::info("channel {}: stream started {}", ch.name, info.dump());
  events_.emit("stream.started", ch.name, fields);
}

void Server::end_publish(Channel& ch, uint64_t source, const std::string& reason) {
  if (ch.failover && source != 0 && ch.failover->backup_source == source) {
    spdlog::info("channel {}: backup publisher {} gone ({})", ch.name, ch.failover->backup_remote, reason);
    ch.failover->backup_source = 0;
    ch.failover->backup_remote.clear();
    return;
  }
  if (!ch.live || ch.owner != source) return;
  int64_t now = monotonic_ms();
  double duration = double(now - ch.started_mono_ms) / 1000.0;
  nlohmann::json fields = {{"protocol", ch.protocol}, {"remote", ch.remote}, {"duration_s", duration},
                           {"bytes", ch.session_bytes_in}, {"reason", reason}, {"session", ch.sessions}};
  if (ch.recorder) fields["recording"] = ch.recorder->path();
  events_.emit("stream.ended", ch.name, fields);
  spdlog::info("channel {}: stream ended after {:.1f} s ({})", ch.name, duration, reason);
  ch.recorder.reset();
  ch.live = false;
  ch.owner = 0;
  std::lock_guard lk(live_mu_);
  live_names_.erase(ch.name);
}


void Server::drain_inbox(int64_t now) {
  for (auto& item : inbox_.take()) {
    switch (item.kind) {
      case InboxItem::Kind::kRejected:
        reject(item.info.value("protocol", "srt"), item.info.value("remote", "?"), item.info.value("reason", "refused"));
        break;
      case InboxItem::Kind::kStart: {
        bool pull = pull_ids_.count(item.source) > 0;
        std::string protocol = item.info.value("protocol", "srt");
        std::string remote = item.info.value("remote", "?");
        auto chr = channel(item.channel);
        Channel* ch = chr.is_ok() ? *chr : nullptr;
        bool refused = !ch;
        if (ch && ch->live) {
          if (!p_.replace || pull_ids_.count(ch->owner)) refused = true;
          else kick(*ch, "replaced");
        }
        if (refused) {
          reject(protocol, remote, ch ? "channel '" + ch->name + "' already has a publisher" : chr.status().message());
          if (srt_ && !pull) srt_->close_source(item.source);
          inbox_.forget(item.source);
          break;
        }
        start_session(*ch, item.source, protocol, remote);
        byte_sources_[item.source] = ch;
        nlohmann::json info = item.info;
        info.erase("protocol");
        info.erase("remote");
        if (pull) {
          stream_started(*ch, info);
        } else {
          ch->announce_pending = true;
          ch->probe = TsProbe();
          ch->start_info = info;
        }
        break;
      }
      case InboxItem::Kind::kData: {
        auto it = byte_sources_.find(item.source);
        if (it == byte_sources_.end() || !it->second->live || it->second->owner != item.source) {
          inbox_.ack(item.source, item.data.size());
          break;
        }
        Channel& ch = *it->second;
        size_t n = item.data.size();
        ch.bytes_in += n;
        ch.session_bytes_in += n;
        ch.rate_bytes += n;
        ch.video_frames += item.video_frames;
        ch.rate_frames += item.video_frames;
        ch.last_packet_mono_ms = now;
        std::string buf = std::move(ch.ts_remainder);
        buf += item.data;
        // Resynchronise on the 0x47 sync byte if a source starts mid-packet.
        size_t off = 0;
        while (off < buf.size() && !(buf[off] == 0x47 && (off + 188 >= buf.size() || buf[off + 188] == 0x47))) ++off;
        size_t whole = (buf.size() - off) / 188 * 188;
        const auto* aligned = reinterpret_cast<const uint8_t*>(buf.data() + off);
        if (ch.announce_pending && (ch.probe.feed(aligned, whole) || now - ch.started_mono_ms > 2000)) {
          ch.announce_pending = false;
          nlohmann::json info = ch.start_info;
          info.update(ch.probe.info());
          stream_started(ch, info);
        }
        ch.write_ts(aligned, whole, !ch.flow_controlled);
        ch.ts_remainder = buf.substr(off + whole);
        if (ch.flow_controlled && ch.output && ch.output->buffered() > ch.output->capacity())
          unacked_[item.source] += n;
        else
          inbox_.ack(item.source, n);
        break;
      }
      case InboxItem::Kind::kEnd: {
        auto it = byte_sources_.find(item.source);
        if (it != byte_sources_.end()) end_publish(*it->second, item.source, item.reason);
        byte_sources_.erase(item.source);
        unacked_.erase(item.source);
        inbox_.forget(item.source);
        if (pull_ids_.count(item.source)) {
          --pulls_running_;
          if (!item.status.is_ok()) {
            spdlog::error("{}", item.status.message());
            if (pull_status_.is_ok()) pull_status_ = item.status;
          }
        }
        break;
      }
    }
  }
}

}  // namespace sigma::ingest::detail

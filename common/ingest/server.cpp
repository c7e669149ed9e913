#include "ingest/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "av/av.h"
#include "base/events.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/time.h"
#include "ingest/channel.h"
#include "ingest/inbox.h"
#include "ingest/keys.h"
#include "ingest/pull_input.h"
#include "ingest/rtmp_connection.h"
#include "ingest/srt_listener.h"
#include "ingest/status_report.h"

namespace sigma::ingest {

namespace {

// epoll tags below the first connection id.
constexpr uint64_t kTagListen = 1, kTagInbox = 2, kTagStop = 3, kFirstId = 100;
constexpr size_t kMaxChannels = 1024;

std::string sockaddr_string(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* in = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
    port = ntohs(in->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

class Server : public ChannelHub {
 public:
  Server(const IngestParams& p, CommonOptions& common) : p_(p), common_(common) {}
  ~Server() override {
    if (srt_) srt_->stop();
    pulls_.clear();
    conns_.clear();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (epfd_ >= 0) ::close(epfd_);
  }
  Status run();

  Channel* begin_publish(const std::string& key, const std::string& protocol, const std::string& remote,
                         uint64_t source, rtmp::PublishVerdict& verdict) override;
  void stream_started(Channel& ch, const nlohmann::json& info) override;
  void end_publish(Channel& ch, uint64_t source, const std::string& reason) override;

 private:
  Status setup();
  Status listen_rtmp();
  void accept_rtmp(int64_t now);
  void close_connection(uint64_t id, const std::string& reason);
  void watch(RtmpConnection& c);
  void drain_inbox(int64_t now);
  void housekeeping(int64_t now);
  Status flush_outputs(int64_t now);
  Status drain_outputs_at_exit();
  void shutdown_sessions();
  // Channel name for a key, or nullopt with a reason. Thread-safe (SRT
  // calls it from libsrt's threads).
  std::optional<std::string> resolve(const std::string& key, std::string& reason, bool& busy);
  Result<Channel*> channel(const std::string& name);
  void reject(const std::string& protocol, const std::string& remote, const std::string& reason);
  void start_session(Channel& ch, uint64_t owner, const std::string& protocol, const std::string& remote);
  void kick(Channel& ch, const std::string& reason);
  bool has_listeners() const { return listen_fd_ >= 0 || srt_ != nullptr; }

  const IngestParams& p_;
  CommonOptions& common_;
  EventWriter events_;
  std::optional<KeyStore> keys_;
  bool single_target_ = true;  // stdout or a path without {channel}
  int epfd_ = -1;
  int listen_fd_ = -1;
  Inbox inbox_;
  std::map<uint64_t, std::unique_ptr<RtmpConnection>> conns_;
  std::map<uint64_t, bool> watching_out_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;
  std::map<uint64_t, Channel*> byte_sources_;  // SRT and pull sources
  std::map<uint64_t, size_t> unacked_;         // pull bytes waiting for output room
  std::set<uint64_t> pull_ids_;
  std::set<uint64_t> paced_pulls_;  // flow-controlled (files, FIFOs)
  std::vector<std::unique_ptr<PullInput>> pulls_;
  std::unique_ptr<SrtListener> srt_;
  std::atomic<uint64_t> next_id_{kFirstId};
  ServerCounters counters_;
  std::mutex live_mu_;  // guards the two below, read by SRT threads
  std::set<std::string> live_names_;
  std::string single_channel_;
  size_t pulls_running_ = 0;
  Status pull_status_;
  int64_t last_status_ms_ = 0;
  int64_t last_tick_ms_ = 0;
};

Status Server::setup() {
  SIGMA_RETURN_IF_ERROR_CTX(events_.open(common_.events), "open events " + common_.events);
  if (!p_.keys_file.empty()) {
    auto ks = KeyStore::load(p_.keys_file);
    if (!ks.is_ok()) return ks.status();
    keys_ = std::move(*ks);
  }
  bool listeners = !p_.rtmp_listen.empty() || !p_.srt_listen.empty();
  if (listeners && !keys_ && !p_.open_mode)
    return usage_error("publishers need stream keys: give --keys FILE, or --open for development");
  if (p_.buffer_kib < 64) return usage_error("--buffer must be at least 64 KiB");
  if (p_.inputs.size() > 1 && p_.channels.size() != p_.inputs.size())
    return usage_error("give one --channel per -i input, in the same order");
  for (const auto& c : p_.channels)
    if (!valid_channel_name(c)) return usage_error("bad channel name '" + c + "' (letters, digits, '_', '-', '.')");
  single_target_ = p_.output_template.find("{channel}") == std::string::npos;
  if (single_target_) {
    // One target carries one channel: the one named, the only keyed one,
    // or else the first to publish.
    if (!p_.channels.empty()) single_channel_ = p_.channels.front();
    else if (keys_ && keys_->channels().size() == 1 && !p_.open_mode) single_channel_ = keys_->channels().front();
    if (p_.inputs.size() > 1) return usage_error("several -i inputs need --output with {channel} in it");
  }

  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return errno_error("epoll_create1", errno);
  auto add = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  };
  if (add(inbox_.fd(), kTagInbox) < 0 || add(stop_fd(), kTagStop) < 0) return errno_error("epoll_ctl", errno);
  if (!p_.rtmp_listen.empty()) SIGMA_RETURN_IF_ERROR(listen_rtmp());
  if (!p_.srt_listen.empty()) {
    SrtParams sp;
    sp.listen = p_.srt_listen;
    sp.latency_ms = p_.srt_latency_ms;
    if (!p_.srt_passphrase_file.empty()) {
      auto pw = read_file(p_.srt_passphrase_file);
      if (!pw.is_ok()) return usage_error("read SRT passphrase: " + pw.status().message());
      sp.passphrase = *pw;
      while (!sp.passphrase.empty() && (sp.passphrase.back() == '\n' || sp.passphrase.back() == '\r'))
        sp.passphrase.pop_back();
    }
    srt_ = std::make_unique<SrtListener>(
        sp,
        [this](const std::string& key) {
          SrtVerdict v;
          auto name = resolve(key, v.reason, v.busy);
          v.ok = name.has_value();
          if (name) v.channel = *name;
          return v;
        },
        inbox_, [this] { return next_id_++; });
    SIGMA_RETURN_IF_ERROR(srt_->start());
  }
  for (size_t i = 0; i < p_.inputs.size(); ++i) {
    std::string name = i < p_.channels.size() ? p_.channels[i] : "default";
    uint64_t id = next_id_++;
    pull_ids_.insert(id);
    // Files and FIFOs are read as fast as the output takes them; a network
    // source is live, so falling behind it would only add latency: it gets
    // the bounded, dropping path like a publisher.
    if (p_.inputs[i].find("://") == std::string::npos || p_.inputs[i].rfind("file:", 0) == 0) paced_pulls_.insert(id);
    pulls_.push_back(std::make_unique<PullInput>(p_.inputs[i], name, id, inbox_));
    ++pulls_running_;
  }
  for (auto& pull : pulls_) pull->start();
  return {};
}

Status Server::listen_rtmp() {
  std::string hostport = p_.rtmp_listen;
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return usage_error("--rtmp wants HOST:PORT, got '" + hostport + "'");
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host.empty()) host = "0.0.0.0";
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    return usage_error("--rtmp: cannot resolve '" + hostport + "'");
  listen_fd_ = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    freeaddrinfo(res);
    return errno_error("socket", errno);
  }
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int r = bind(listen_fd_, res->ai_addr, res->ai_addrlen);
  int err = errno;
  freeaddrinfo(res);
  if (r < 0) return errno_error("bind RTMP " + hostport, err);
  if (listen(listen_fd_, 128) < 0) return errno_error("listen RTMP " + hostport, errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagListen;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev) < 0) return errno_error("epoll_ctl", errno);
  spdlog::info("RTMP listening on {}", hostport);
  return {};
}

std::optional<std::string> Server::resolve(const std::string& key, std::string& reason, bool& busy) {
  busy = false;
  std::optional<std::string> name;
  if (keys_) name = keys_->channel_for(key);
  if (!name && p_.open_mode && valid_channel_name(key)) name = key;
  if (!name) {
    reason = key.empty() ? "no stream key" : "unknown stream key";
    return std::nullopt;
  }
  std::lock_guard lk(live_mu_);
  if (single_target_ && !single_channel_.empty() && single_channel_ != *name) {
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
  if (p_.output_template.empty()) {
    ch->output = std::make_unique<ChannelOutput>(1, "stdout", cap);
  } else {
    std::string path = p_.output_template;
    for (size_t pos; (pos = path.find("{channel}")) != std::string::npos;) path.replace(pos, 9, name);
    ch->output = std::make_unique<ChannelOutput>(path, cap);
  }
  {
    std::lock_guard lk(live_mu_);
    if (single_target_ && single_channel_.empty()) single_channel_ = name;
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
  if (!p_.record_dir.empty()) {
    auto rec = SessionRecorder::open(p_.record_dir, ch.name, ch.started_unix_ms);
    if (rec.is_ok()) ch.recorder = std::move(*rec);
    else spdlog::error("channel {}: {}", ch.name, rec.status().message());
  }
  spdlog::info("channel {}: {} publisher {} connected (session {})", ch.name, protocol, remote, ch.sessions);
}

void Server::kick(Channel& ch, const std::string& reason) {
  uint64_t owner = ch.owner;
  auto it = conns_.find(owner);
  if (it != conns_.end()) {
    it->second->end(reason);
    close_connection(owner, reason);
    return;
  }
  if (srt_ && byte_sources_.count(owner)) srt_->close_source(owner);
  end_publish(ch, owner, reason);
  byte_sources_.erase(owner);
}

Channel* Server::begin_publish(const std::string& key, const std::string& protocol, const std::string& remote,
                               uint64_t source, rtmp::PublishVerdict& verdict) {
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

void Server::stream_started(Channel& ch, const nlohmann::json& info) {
  ch.info = info;
  nlohmann::json fields = info;
  fields["protocol"] = ch.protocol;
  fields["remote"] = ch.remote;
  fields["session"] = ch.sessions;
  spdlog::info("channel {}: stream started {}", ch.name, info.dump());
  events_.emit("stream.started", ch.name, fields);
}

void Server::end_publish(Channel& ch, uint64_t source, const std::string& reason) {
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

void Server::accept_rtmp(int64_t now) {
  for (;;) {
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) spdlog::warn("accept: {}", std::strerror(errno));
      return;
    }
    std::string remote = sockaddr_string(ss);
    if (conns_.size() >= size_t(p_.max_connections)) {
      ++counters_.rejected;
      spdlog::warn("connection from {} refused: {} connections open (--max-connections)", remote, conns_.size());
      ::close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint64_t id = next_id_++;
    rtmp::SessionLimits limits;
    limits.chunk.max_message_size = uint32_t(p_.max_message_kib * 1024);
    limits.chunk.max_pending_bytes = 2 * limits.chunk.max_message_size;
    auto conn = std::make_unique<RtmpConnection>(fd, id, remote, *this, limits, now);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
      spdlog::warn("epoll_ctl: {}", std::strerror(errno));
      continue;
    }
    ++counters_.accepted;
    spdlog::debug("connection {} from {}", id, remote);
    conns_.emplace(id, std::move(conn));
    watching_out_[id] = false;
  }
}

void Server::watch(RtmpConnection& c) {
  bool want = c.wants_write();
  bool& cur = watching_out_[c.id()];
  if (want == cur) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (want ? uint32_t(EPOLLOUT) : 0u);
  ev.data.u64 = c.id();
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd(), &ev);
  cur = want;
}

void Server::close_connection(uint64_t id, const std::string& reason) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  spdlog::debug("connection {} from {} closed: {}", id, it->second->remote(), reason);
  epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second->fd(), nullptr);
  conns_.erase(it);  // the destructor ends a live publish
  watching_out_.erase(id);
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

Status Server::flush_outputs(int64_t now) {
  for (auto& [name, ch] : channels_) {
    if (!ch->output) continue;
    SIGMA_RETURN_IF_ERROR_CTX(ch->output->flush(now), "channel " + name);
  }
  for (auto it = unacked_.begin(); it != unacked_.end();) {
    auto src = byte_sources_.find(it->first);
    if (src == byte_sources_.end() || !src->second->output ||
        src->second->output->buffered() <= src->second->output->capacity()) {
      inbox_.ack(it->first, it->second);
      it = unacked_.erase(it);
    } else {
      ++it;
    }
  }
  return {};
}

void Server::housekeeping(int64_t now) {
  std::vector<std::pair<uint64_t, std::string>> expired;
  for (auto& [id, c] : conns_) {
    if (!c->handshake_done() && now - c->created_ms() > std::min<int64_t>(10000, int64_t(p_.timeout_s) * 1000))
      expired.emplace_back(id, "handshake timeout");
    else if (now - c->last_rx_ms() > int64_t(p_.timeout_s) * 1000) expired.emplace_back(id, "timeout");
  }
  for (auto& [id, why] : expired) {
    ++counters_.timeouts;
    spdlog::warn("connection from {}: {}", conns_[id]->remote(), why);
    conns_[id]->end("timeout");
    close_connection(id, why);
  }
  for (auto& [name, ch] : channels_)
    if (ch->recorder) ch->recorder->tick(now);
  if (now - last_status_ms_ >= 1000) {
    counters_.connections = conns_.size();
    auto doc = status_json(channels_, counters_, now, last_status_ms_ ? now - last_status_ms_ : 0);
    last_status_ms_ = now;
    if (!p_.status_file.empty()) {
      Status st = write_file_atomic(p_.status_file, doc.dump(2) + "\n");
      if (!st.is_ok()) spdlog::warn("status file: {}", st.message());
    }
  }
}

void Server::shutdown_sessions() {
  for (auto& [id, c] : conns_) c->end("shutdown");
  conns_.clear();
  if (srt_) srt_->stop();
  for (auto& pull : pulls_) pull->stop();
  drain_inbox(monotonic_ms());
  for (auto& [name, ch] : channels_)
    if (ch->live) end_publish(*ch, ch->owner, "shutdown");
}

Status Server::drain_outputs_at_exit() {
  // Give readers the tail of the stream; stop when they make no progress.
  int64_t last_progress = monotonic_ms();
  size_t last_left = SIZE_MAX;
  for (;;) {
    int64_t now = monotonic_ms();
    SIGMA_RETURN_IF_ERROR(flush_outputs(now));
    size_t left = 0;
    for (auto& [n, ch] : channels_)
      if (ch->output && ch->output->connected()) left += ch->output->buffered();
    if (left == 0) return {};
    if (left < last_left) {
      last_left = left;
      last_progress = now;
    }
    if (now - last_progress > 5000) {
      spdlog::warn("{} bytes not taken by slow outputs at exit", left);
      return {};
    }
    usleep(10000);
  }
}

Status Server::run() {
  SIGMA_RETURN_IF_ERROR(setup());
  notify_ready(common_.ready_fd);
  std::vector<epoll_event> evs(64);
  Status st;
  while (!stop_requested()) {
    bool pending = false;
    for (auto& [n, ch] : channels_) pending |= ch->output && ch->output->buffered() > 0;
    int n = epoll_wait(epfd_, evs.data(), int(evs.size()), pending ? 20 : 200);
    if (n < 0 && errno != EINTR) return errno_error("epoll_wait", errno);
    int64_t now = monotonic_ms();
    for (int i = 0; i < n; ++i) {
      uint64_t tag = evs[i].data.u64;
      if (tag == kTagListen) {
        accept_rtmp(now);
      } else if (tag == kTagInbox) {
        drain_inbox(now);
      } else if (tag == kTagStop) {
        break;
      } else {
        auto it = conns_.find(tag);
        if (it == conns_.end()) continue;
        RtmpConnection& c = *it->second;
        std::string reason;
        bool ok = true;
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ok = c.on_readable(now, reason);
        if (ok && (evs[i].events & EPOLLOUT)) ok = c.on_writable(reason);
        if (!ok) {
          if (reason != "disconnected" && reason != "refused") {
            ++counters_.protocol_errors;
            spdlog::warn("connection from {} closed: {}", c.remote(), reason);
          }
          close_connection(tag, reason);
        } else {
          watch(c);
        }
      }
    }
    st = flush_outputs(now);
    if (!st.is_ok()) break;
    if (now - last_tick_ms_ >= 200) {
      last_tick_ms_ = now;
      housekeeping(now);
    }
    if (!has_listeners() && pulls_running_ == 0) break;
  }
  shutdown_sessions();
  if (st.is_ok()) st = drain_outputs_at_exit();
  if (!p_.status_file.empty()) {
    counters_.connections = 0;
    [[maybe_unused]] Status ignored =
        write_file_atomic(p_.status_file, status_json(channels_, counters_, monotonic_ms(), 0).dump(2) + "\n");
  }
  if (!st.is_ok()) return st;
  return pull_status_;
}

}  // namespace

Status run_ingest(const IngestParams& params, CommonOptions& common) {
  av::route_av_logs_to_spdlog();
  Server server(params, common);
  return server.run();
}

}  // namespace sigma::ingest

#include "ingest/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
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

#include "ingest/server_state.h"

namespace sigma::ingest {

namespace detail {

namespace {

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

}  // namespace

Status Server::setup() {
  SIGMA_RETURN_IF_ERROR_CTX(events_.open(common_.events), "open events " + common_.events);
  if (!p_.keys_file.empty()) {
    SIGMA_ASSIGN_OR_RETURN(auto ks, KeyStore::load(p_.keys_file));
    keys_ = std::make_shared<const KeyStore>(std::move(ks));
  }
  bool listeners = !p_.rtmp_listen.empty() || !p_.srt_listen.empty() || !p_.whip_listen.empty();
  if (listeners && !keys_ && !p_.open_mode)
    return usage_error("publishers need stream keys: give --keys FILE, or --open for development");
  if (p_.buffer_kib < 64) return usage_error("--buffer must be at least 64 KiB");
  if (p_.inputs.size() > 1 && p_.channels.size() != p_.inputs.size())
    return usage_error("give one --channel per -i input, in the same order");
  for (const auto& c : p_.channels)
    if (!valid_channel_name(c)) return usage_error("bad channel name '" + c + "' (letters, digits, '_', '-', '.')");
  if (!p_.hls_template.empty() && p_.hls_template.find("{channel}") == std::string::npos)
    return usage_error("--hls wants {channel} in the path (or use --hls-channel NAME=DIR)");
  if (!p_.hls_template.empty() && !p_.output_template.empty())
    return usage_error("--hls and --output both name every channel's output: give one (--hls-channel picks "
                       "channels out of --output)");
  SIGMA_ASSIGN_OR_RETURN(auto cli_routes, HlsConfig::make(p_.hls_template, p_.hls_channels, p_.hls_defaults));
  cli_routes_ = std::make_shared<const HlsConfig>(std::move(cli_routes));
  for (const auto& spec : p_.restream) SIGMA_RETURN_IF_ERROR(cli_restream_.add(spec, "--restream"));
  SIGMA_ASSIGN_OR_RETURN(routes_, load_routes(&restream_));
  // Installed before the first readiness so that a supervisor's SIGHUP
  // never meets the default action (exit).
  int reload_fd = install_reload_handler();
  if (reload_fd < 0) return errno_error("install SIGHUP handler", errno);
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
  if (add(inbox_.fd(), kTagInbox) < 0 || add(stop_fd(), kTagStop) < 0 || add(reload_fd, kTagReload) < 0)
    return errno_error("epoll_ctl", errno);
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
          if (name && routes()->for_channel(*name)) {
            v.reason = "channel '" + *name + "' is packaged in-process, which takes RTMP publishers only";
            name.reset();
          }
          if (auto b = routes()->backup_channel(key)) {
            v.reason = "channel '" + *b + "': its backup publishes over RTMP";
            name.reset();
          } else if (name && routes()->failover(*name)) {
            v.reason = "channel '" + *name + "' has failover, which takes RTMP publishers only";
            name.reset();
          }
          v.ok = name.has_value();
          if (name) v.channel = *name;
          return v;
        },
        inbox_, [this] { return next_id_++; });
    SIGMA_RETURN_IF_ERROR(srt_->start());
  }
  if (!p_.whip_listen.empty()) SIGMA_RETURN_IF_ERROR(start_whip());
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
  if (whip_) whip_->tick(now);
  for (auto& [id, why] : expired) {
    ++counters_.timeouts;
    spdlog::warn("connection from {}: {}", conns_[id]->remote(), why);
    conns_[id]->end("timeout");
    close_connection(id, why);
  }
  for (auto& [name, ch] : channels_)
    if (ch->recorder) ch->recorder->tick(now);
  // A pulled backup runs from the start, before any publisher made the channel.
  for (const auto& name : routes()->pulled_backups())
    if (!channels_.count(name)) {
      auto made = channel(name);
      if (!made.is_ok()) spdlog::warn("channel {}: {}", name, made.status().message());
    }
  for (auto& [name, ch] : channels_)
    if (ch->restream) ch->restream->emit_notices(events_);
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
  if (whip_) whip_->stop();
  for (auto& [id, c] : conns_) c->end("shutdown");
  conns_.clear();
  if (srt_) srt_->stop();
  for (auto& pull : pulls_) pull->stop();
  drain_inbox(monotonic_ms());
  for (auto& [name, ch] : channels_)
    if (ch->live) end_publish(*ch, ch->owner, "shutdown");
  for (auto& [name, ch] : channels_)
    if (ch->failover) ch->failover->close();
}

void Server::close_hls() {
  if (!packaging_) return;
  for (auto& [name, ch] : channels_)
    if (ch->hls) ch->hls->close();
  packaging_->drain();
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
    for (auto& [n, ch] : channels_) {
      pending |= ch->output && ch->output->buffered() > 0;
      // A slate on the air (or a pulled backup) is fed from the loop's ticks.
      pending |= ch->failover && (ch->failover->active() == InputSwitch::Source::kSlate ||
                                  !ch->failover->settings().backup_url.empty());
    }
    int n = epoll_wait(epfd_, evs.data(), int(evs.size()), pending ? 20 : 200);
    if (n < 0 && errno != EINTR) return errno_error("epoll_wait", errno);
    int64_t now = monotonic_ms();
    auto pass_start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      uint64_t tag = evs[i].data.u64;
      if (tag == kTagListen) {
        accept_rtmp(now);
      } else if (tag == kTagInbox) {
        drain_inbox(now);
      } else if (tag == kTagWhip) {
        if (whip_) whip_->on_wake(now);
      } else if (tag == kTagStop) {
        break;
      } else if (tag == kTagReload) {
        if (take_reload_request()) reload();
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
    for (auto& [name, ch] : channels_)
      if (ch->failover) ch->failover->tick(now);
    st = flush_outputs(now);
    if (!st.is_ok()) break;
    if (now - last_tick_ms_ >= 200) {
      last_tick_ms_ = now;
      housekeeping(now);
    }
    counters_.loop_max_us = std::max<int64_t>(
        counters_.loop_max_us,
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - pass_start).count());
    if (!has_listeners() && pulls_running_ == 0) break;
  }
  shutdown_sessions();
  close_hls();
  if (st.is_ok()) st = drain_outputs_at_exit();
  if (!p_.status_file.empty()) {
    counters_.connections = 0;
    [[maybe_unused]] Status ignored =
        write_file_atomic(p_.status_file, status_json(channels_, counters_, monotonic_ms(), 0).dump(2) + "\n");
  }
  if (!st.is_ok()) return st;
  return pull_status_;
}

}  // namespace detail

Status run_ingest(const IngestParams& params, CommonOptions& common) {
  av::route_av_logs_to_spdlog();
  detail::Server server(params, common);
  return server.run();
}

}  // namespace sigma::ingest

#include "ingest/srt_listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <syslog.h>

#include <cstring>

#include "base/log.h"

namespace sigma::ingest {

namespace {

std::string peer_string(const struct sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa && sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (sa && sa->sa_family == AF_INET6) {
    auto* in = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
    port = ntohs(in->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

// libsrt logs to stderr in its own format; route it through spdlog.
void srt_log(void*, int level, const char*, int, const char*, const char* message) {
  std::string m(message ? message : "");
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.pop_back();
  if (level <= LOG_ERR) spdlog::warn("libsrt: {}", m);
  else spdlog::debug("libsrt: {}", m);
}

Status srt_fail(const std::string& what) { return system_error(what + ": " + srt_getlasterror_str()); }

}  // namespace

bool parse_srt_streamid(const std::string& raw, std::string& key, std::string& error) {
  // Some callers (ffmpeg's srt:// URL option) pass the '#' percent-encoded.
  std::string streamid = raw.rfind("%23!::", 0) == 0 ? "#" + raw.substr(3) : raw;
  if (streamid.rfind("#!::", 0) != 0) {
    key = streamid;
    return true;
  }
  // Access-control syntax: comma-separated k=v; r = resource, m = mode.
  key.clear();
  std::string mode = "request";
  size_t pos = 4;
  while (pos <= streamid.size()) {
    size_t comma = streamid.find(',', pos);
    std::string item = streamid.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = item.find('=');
    if (eq != std::string::npos) {
      std::string k = item.substr(0, eq), v = item.substr(eq + 1);
      if (k == "r") key = v;
      else if (k == "m") mode = v;
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (mode != "publish") {
    error = "SRT mode '" + mode + "' refused: this listener only accepts publishers";
    return false;
  }
  return true;
}

SrtListener::SrtListener(SrtParams params, SrtAuthorize authorize, Inbox& inbox, std::function<uint64_t()> next_id)
    : params_(std::move(params)), authorize_(std::move(authorize)), inbox_(inbox), next_id_(std::move(next_id)) {}

SrtListener::~SrtListener() { stop(); }

int SrtListener::listen_hook(void* opaque, int sock, int, const struct sockaddr* peer, const char* streamid) {
  auto* self = static_cast<SrtListener*>(opaque);
  std::string key, error;
  SrtVerdict v;
  if (!parse_srt_streamid(streamid ? streamid : "", key, error)) {
    v.reason = error;
  } else {
    v = self->authorize_(key);
  }
  if (v.ok) return 0;
  srt_setrejectreason(sock, v.busy ? SRT_REJX_CONFLICT : SRT_REJX_FORBIDDEN);
  InboxItem item;
  item.kind = InboxItem::Kind::kRejected;
  item.info = {{"protocol", "srt"}, {"remote", peer_string(peer)}, {"reason", v.reason}};
  self->inbox_.post(std::move(item));
  return -1;
}

Status SrtListener::start() {
  if (srt_startup() < 0) return srt_fail("start libsrt");
  started_ = true;
  srt_setloglevel(LOG_ERR);
  srt_setloghandler(nullptr, &srt_log);
  std::string hostport = params_.listen;
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return usage_error("--srt wants HOST:PORT, got '" + hostport + "'");
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host.empty()) host = "0.0.0.0";
  struct addrinfo hints = {}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    return usage_error("--srt: cannot resolve '" + hostport + "'");
  listener_ = srt_create_socket();
  if (listener_ == SRT_INVALID_SOCK) {
    freeaddrinfo(res);
    return srt_fail("create SRT socket");
  }
  bool no = false;
  srt_setsockflag(listener_, SRTO_RCVSYN, &no, sizeof no);
  int live = SRTT_LIVE;
  srt_setsockflag(listener_, SRTO_TRANSTYPE, &live, sizeof live);
  srt_setsockflag(listener_, SRTO_LATENCY, &params_.latency_ms, sizeof params_.latency_ms);
  if (!params_.passphrase.empty()) {
    if (srt_setsockflag(listener_, SRTO_PASSPHRASE, params_.passphrase.data(), int(params_.passphrase.size())) < 0) {
      freeaddrinfo(res);
      return usage_error("SRT passphrase refused (it must be 10 to 79 characters)");
    }
  }
  int r = srt_bind(listener_, res->ai_addr, int(res->ai_addrlen));
  freeaddrinfo(res);
  if (r < 0) return srt_fail("bind SRT " + hostport);
  srt_listen_callback(listener_, &SrtListener::listen_hook, this);
  if (srt_listen(listener_, 64) < 0) return srt_fail("listen SRT " + hostport);
  eid_ = srt_epoll_create();
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(eid_, listener_, &events);
  spdlog::info("SRT listening on {}", hostport);
  thread_ = std::thread([this] { run(); });
  return {};
}

void SrtListener::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (auto& [s, p] : peers_) srt_close(s);
  peers_.clear();
  if (eid_ >= 0) srt_epoll_release(eid_);
  if (listener_ >= 0) srt_close(listener_);
  if (started_) srt_cleanup();  // libsrt's threads must end before exit
  started_ = false;
  eid_ = listener_ = -1;
}

void SrtListener::close_source(uint64_t source) {
  std::lock_guard lk(mu_);
  to_close_.push_back(source);
}

void SrtListener::accept_one() {
  sockaddr_storage peer;
  int len = sizeof peer;
  int s = srt_accept(listener_, reinterpret_cast<sockaddr*>(&peer), &len);
  if (s == SRT_INVALID_SOCK) return;
  char sid[600] = {0};
  int sid_len = sizeof sid - 1;
  srt_getsockflag(s, SRTO_STREAMID, sid, &sid_len);
  std::string key, error;
  SrtVerdict v;
  if (parse_srt_streamid(std::string(sid, size_t(std::max(sid_len, 0))), key, error)) v = authorize_(key);
  if (!v.ok) {  // lost a race with another publisher since the handshake
    srt_close(s);
    return;
  }
  uint64_t id = next_id_();
  peers_[s] = {id, v.channel};
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(eid_, s, &events);
  InboxItem item;
  item.kind = InboxItem::Kind::kStart;
  item.source = id;
  item.channel = v.channel;
  item.info = {{"protocol", "srt"}, {"remote", peer_string(reinterpret_cast<sockaddr*>(&peer))}};
  inbox_.post(std::move(item));
}

void SrtListener::run() {
  std::vector<SRT_EPOLL_EVENT> ev(64);
  constexpr size_t kLiveLimit = 8 << 20;  // queued for the loop, per source
  while (!stop_) {
    {
      std::lock_guard lk(mu_);
      for (uint64_t src : to_close_) {
        for (auto it = peers_.begin(); it != peers_.end(); ++it) {
          if (it->second.source != src) continue;
          srt_epoll_remove_usock(eid_, it->first);
          srt_close(it->first);
          peers_.erase(it);
          break;
        }
      }
      to_close_.clear();
    }
    int n = srt_epoll_uwait(eid_, ev.data(), int(ev.size()), 200);
    for (int i = 0; i < n; ++i) {
      int s = ev[i].fd;
      if (s == listener_) {
        accept_one();
        continue;
      }
      auto it = peers_.find(s);
      if (it == peers_.end()) continue;
      std::string data;
      bool gone = false;
      char buf[1500];
      for (;;) {
        int r = srt_recvmsg(s, buf, sizeof buf);
        if (r > 0) {
          data.append(buf, size_t(r));
          if (data.size() >= (256 << 10)) break;
          continue;
        }
        if (r < 0 && srt_getlasterror(nullptr) == SRT_EASYNCRCV) break;
        gone = true;
        break;
      }
      if (!data.empty()) {
        InboxItem item;
        item.kind = InboxItem::Kind::kData;
        item.source = it->second.source;
        item.data = std::move(data);
        if (!inbox_.post(std::move(item), kLiveLimit)) spdlog::warn("SRT {}: event loop behind, data dropped", it->second.channel);
      }
      if (gone || (ev[i].events & SRT_EPOLL_ERR)) {
        InboxItem end;
        end.kind = InboxItem::Kind::kEnd;
        end.source = it->second.source;
        end.reason = "disconnected";
        inbox_.post(std::move(end));
        srt_epoll_remove_usock(eid_, s);
        srt_close(s);
        peers_.erase(it);
      }
    }
  }
}

}  // namespace sigma::ingest

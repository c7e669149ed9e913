// The HTTP side of WHIP (RFC 9725): POST an offer to /whip or
// /whip/CHANNEL with the stream key as a Bearer token -> 201 Created, the
// answer (application/sdp) and Location /whip/CHANNEL/TOKEN; DELETE there
// ends the session; PATCH trickles candidates (application/trickle-ice-
// sdpfrag; an ICE restart is refused with 422); OPTIONS answers the CORS
// preflight of a page on another origin (the Go-live page).
#include <boost/asio.hpp>
#include <boost/beast/http.hpp>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "base/log.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "ingest/whip_ingest.h"
#include "ingest/whip_publisher.h"

namespace sigma::ingest {

namespace bhttp = boost::beast::http;

struct WhipIngest::Http {
  boost::asio::io_context ioc{2};
  std::unique_ptr<http::Server> server;
  std::vector<std::thread> threads;
};

namespace {

constexpr const char* kExpose = "Location, ETag, Link, Accept-Post, Accept-Patch";

void reply(const std::shared_ptr<http::Exchange>& ex, int status, const std::string& body,
           const std::vector<std::pair<std::string, std::string>>& headers = {},
           const std::string& type = "text/plain; charset=utf-8") {
  http::Response res(static_cast<bhttp::status>(status), 11);
  res.set(bhttp::field::server, "sigma-ingest");
  res.set(bhttp::field::cache_control, "no-store");
  res.set("Access-Control-Allow-Origin", "*");
  res.set("Access-Control-Expose-Headers", kExpose);
  if (!body.empty()) res.set(bhttp::field::content_type, type);
  for (auto& [k, v] : headers) res.set(k, v);
  http::set_text(res, body.empty() || type != "text/plain; charset=utf-8" ? body : body + "\n", ex->head());
  ex->send(std::move(res));
}

std::string header(const http::Request& req, bhttp::field f) {
  auto it = req.find(f);
  return it == req.end() ? "" : std::string(it->value());
}

bool starts_with_ci(const std::string& s, const std::string& prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

}  // namespace

WhipIngest::WhipIngest(WhipParams params, ChannelHub& hub, Inbox& inbox, SrtAuthorize authorize,
                       std::function<uint64_t()> next_id, std::function<double(const std::string&)> keyframe_interval)
    : p_(std::move(params)), hub_(hub), inbox_(inbox), authorize_(std::move(authorize)), next_id_(std::move(next_id)),
      keyframe_interval_(std::move(keyframe_interval)) {
  efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  wopts_.address = p_.udp_address;
  wopts_.port_min = p_.port_min;
  wopts_.port_max = p_.port_max;
  reaper_ = std::thread([this] {
    std::unique_lock lk(reap_mu_);
    for (;;) {
      reap_cv_.wait(lk, [this] { return reap_stop_ || !reap_.empty(); });
      if (reap_.empty() && reap_stop_) return;
      auto s = std::move(reap_.front());
      reap_.pop_front();
      lk.unlock();
      s->close();
      s.reset();
      lk.lock();
    }
  });
}

WhipIngest::~WhipIngest() {
  stop();
  {
    std::lock_guard lk(reap_mu_);
    reap_stop_ = true;
  }
  reap_cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  if (efd_ >= 0) ::close(efd_);
}

Status WhipIngest::start() {
  if (efd_ < 0) return errno_error("eventfd", errno);
  SIGMA_RETURN_IF_ERROR(webrtc::check_webrtc_support());
  http_ = std::make_unique<Http>();
  http::ServerOptions so;
  so.server_name = "sigma-ingest";
  so.max_body_bytes = 64 << 10;  // an offer is a few KiB
  so.idle_timeout = std::chrono::seconds(30);
  http_->server = std::make_unique<http::Server>(
      http_->ioc, [this](const std::shared_ptr<http::Exchange>& ex) { handle(ex); }, nullptr, so);
  SIGMA_RETURN_IF_ERROR_CTX(http_->server->listen(p_.listen), "--whip " + p_.listen);
  for (int i = 0; i < 2; ++i)
    http_->threads.emplace_back([h = http_.get()] {
      auto guard = boost::asio::make_work_guard(h->ioc);
      h->ioc.run();
    });
  spdlog::info("WHIP listening on {} (ICE UDP {}{})", p_.listen, p_.udp_address.empty() ? "" : p_.udp_address + ":",
               p_.port_max ? std::to_string(p_.port_min) + "-" + std::to_string(p_.port_max) : "any port");
  return {};
}

void WhipIngest::stop() {
  if (http_) {
    http_->server->stop();
    http_->ioc.stop();
    for (auto& t : http_->threads) t.join();
    http_.reset();
  }
  // Offers waiting for the loop are refused; then every session ends.
  std::deque<std::unique_ptr<Command>> cmds;
  {
    std::lock_guard lk(mu_);
    cmds.swap(commands_);
  }
  for (auto& c : cmds) {
    if (c->kind == Command::Kind::kOpen) reap(c->session);
    c->done.set_value("shutdown");
  }
  std::vector<uint64_t> ids;
  for (auto& [id, p] : pubs_) ids.push_back(id);
  for (uint64_t id : ids) end(id, "shutdown");
}

void WhipIngest::handle(const std::shared_ptr<http::Exchange>& ex) {
  const auto& req = ex->request();
  std::string target(req.target());
  std::string path = target.substr(0, target.find('?'));
  std::vector<std::string> parts;
  for (size_t pos = 1; pos <= path.size();) {
    size_t slash = path.find('/', pos);
    std::string part = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  if (parts.empty() || parts[0] != "whip" || parts.size() > 3) return reply(ex, 404, "not found: WHIP is POST /whip/CHANNEL");
  bool resource = parts.size() == 3;
  auto verb = req.method();
  if (verb == bhttp::verb::options) {
    std::vector<std::pair<std::string, std::string>> h = {
        {"Access-Control-Allow-Methods", resource ? "DELETE, PATCH, OPTIONS" : "POST, OPTIONS"},
        {"Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match"},
        {"Access-Control-Max-Age", "86400"},
        {"Allow", resource ? "DELETE, PATCH, OPTIONS" : "POST, OPTIONS"}};
    if (!resource) h.push_back({"Accept-Post", "application/sdp"});
    else h.push_back({"Accept-Patch", "application/trickle-ice-sdpfrag"});
    return reply(ex, 204, "", h);
  }
  if (!resource) {
    if (verb != bhttp::verb::post)
      return reply(ex, 405, "the WHIP endpoint takes POST (an SDP offer)", {{"Allow", "POST, OPTIONS"}});
    return handle_post(ex, parts.size() == 2 ? parts[1] : "");
  }
  Resource res;
  {
    std::lock_guard lk(mu_);
    auto it = resources_.find(parts[2]);
    if (it == resources_.end() || it->second.channel != parts[1]) return reply(ex, 404, "no such WHIP session");
    res = it->second;
  }
  if (verb == bhttp::verb::delete_) {
    auto c = std::make_unique<Command>();
    c->kind = Command::Kind::kClose;
    c->id = res.id;
    c->reason = "deleted";
    auto f = post(std::move(c));
    f.wait_for(std::chrono::seconds(5));
    return reply(ex, 200, "");
  }
  if (verb == bhttp::verb::patch) {
    std::string type = header(req, bhttp::field::content_type);
    if (!starts_with_ci(type, "application/trickle-ice-sdpfrag"))
      return reply(ex, 415, "PATCH takes application/trickle-ice-sdpfrag", {{"Accept-Patch", "application/trickle-ice-sdpfrag"}});
    std::string match = header(req, bhttp::field::if_match);
    if (!match.empty() && match != "*" && match != "\"" + parts[2] + "\"")
      return reply(ex, 412, "If-Match does not name this session's ETag");
    std::string ufrag;
    auto cands = webrtc::sdpfrag_candidates(req.body(), ufrag);
    if (!ufrag.empty() && ufrag != res.ufrag) return reply(ex, 422, "ICE restarts are not supported: publish again");
    for (auto& c : cands) res.session->add_remote_candidate(c);
    return reply(ex, 204, "");
  }
  return reply(ex, 405, "a WHIP session takes DELETE or PATCH", {{"Allow", "DELETE, PATCH, OPTIONS"}});
}

void WhipIngest::handle_post(const std::shared_ptr<http::Exchange>& ex, const std::string& path_channel) {
  const auto& req = ex->request();
  std::string type = header(req, bhttp::field::content_type);
  if (!starts_with_ci(type, "application/sdp"))
    return reply(ex, 415, "the offer must be Content-Type: application/sdp", {{"Accept-Post", "application/sdp"}});
  auto offer = webrtc::check_offer(req.body());
  if (!offer.is_ok()) return reply(ex, 400, offer.status().message());
  std::string auth = header(req, bhttp::field::authorization);
  std::string key;
  if (starts_with_ci(auth, "bearer ")) {
    key = auth.substr(7);
    while (!key.empty() && key.front() == ' ') key.erase(0, 1);
  }
  if (key.empty() && p_.open_mode) key = path_channel;
  auto refuse = [&](int status, const std::string& why) {
    InboxItem item;
    item.kind = InboxItem::Kind::kRejected;
    item.info = {{"protocol", "whip"}, {"remote", ex->client()}, {"reason", why}};
    inbox_.post(std::move(item));
    std::vector<std::pair<std::string, std::string>> h;
    if (status == 401) h.push_back({"WWW-Authenticate", "Bearer realm=\"sigma-ingest\""});
    reply(ex, status, why, h);
  };
  if (key.empty()) return refuse(401, "no stream key: send it as Authorization: Bearer KEY");
  SrtVerdict v = authorize_(key);
  if (!v.ok) return refuse(v.busy ? 409 : 401, v.reason);
  if (!path_channel.empty() && path_channel != v.channel)
    return refuse(403, "the stream key is not channel '" + path_channel + "'s");
  auto wakeup = [this] { wake(); };
  auto made = webrtc::WhipSession::create(*offer, wopts_, wakeup);
  if (!made.is_ok()) {
    spdlog::warn("WHIP offer from {} for channel {}: {}", ex->client(), v.channel, made.status().message());
    return reply(ex, made.status().code() == ExitCode::kData ? 400 : 500, made.status().message());
  }
  std::shared_ptr<webrtc::WhipSession> session = std::move(*made);
  auto c = std::make_unique<Command>();
  c->kind = Command::Kind::kOpen;
  c->id = next_id_();
  c->key = key;
  c->remote = ex->client();
  c->session = session;
  c->offer = *offer;
  uint64_t id = c->id;
  std::string token = crypto::base64url_encode(crypto::random_bytes(12));
  std::string ufrag = webrtc::sdp_ice_ufrag(offer->sdp);
  // Registered before the loop can end it, so that end() finds it.
  {
    std::lock_guard lk(mu_);
    resources_[token] = Resource{id, v.channel, ufrag, session};
  }
  auto f = post(std::move(c));
  std::string verdict = f.wait_for(std::chrono::seconds(10)) == std::future_status::ready ? f.get() : "timeout";
  if (!verdict.empty()) {
    {
      std::lock_guard lk(mu_);
      resources_.erase(token);
    }
    if (verdict == "timeout") return reply(ex, 503, "the ingest event loop did not answer");
    reap(session);
    if (verdict == "busy") return reply(ex, 409, "channel '" + v.channel + "' already has a publisher");
    return reply(ex, verdict == "shutdown" ? 503 : 403, "publish refused for channel '" + v.channel + "'");
  }
  std::string location = "/whip/" + v.channel + "/" + token;
  spdlog::info("channel {}: WHIP session {} from {}", v.channel, location.substr(0, 6 + v.channel.size()) + "…",
               ex->client());
  reply(ex, 201, session->answer(), {{"Location", location}, {"ETag", "\"" + token + "\""},
                                     {"Accept-Patch", "application/trickle-ice-sdpfrag"}},
        "application/sdp");
}

}  // namespace sigma::ingest

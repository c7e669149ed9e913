#include "origin/origin_service.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/time.h"
#include "http/mime.h"
#include "http/range.h"
#include "http/url.h"
#include "origin/catchup_service.h"
#include "origin/gzip.h"
#include "origin/responses.h"
#include "origin/playback_auth.h"
#include "origin/sessions.h"
#include "origin/signing.h"
#include "origin/thumbs.h"

namespace sigma::origin {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using http::Response;

struct OriginService::Snapshot {
  FileData data;
  std::shared_ptr<const PlaylistIndex> index;  // playlists only
  mutable std::mutex mu;
  mutable std::shared_ptr<const std::string> delta[2];  // YES, v2
  mutable bool delta_done[2] = {false, false};
  // The gzip forms of the whole playlist and of its deltas (no skip, YES,
  // v2), made once per version of the file on first demand.
  mutable std::shared_ptr<const std::string> gz[3];
  mutable bool gz_done[3] = {false, false, false};
  // Whole GET responses (header + body) for held requests, built once and
  // written to every waiter: no skip, YES, v2, then the same gzipped.
  mutable std::shared_ptr<const std::string> wire[6];
  mutable uint64_t wire_body[6] = {0, 0, 0, 0, 0, 0};
};

struct OriginService::Waiter {
  std::shared_ptr<http::Exchange> ex;
  std::string rel;
  bool part = false;  // waits for a hinted part rather than a playlist
  // A plain playlist request held for the next part (fresh join): until
  // names that part, the answer is the plain playlist, and a timeout
  // answers it with the playlist as it is.
  bool fresh_join = false;
  // A GET without Range: answered with the response shared by all waiters.
  bool simple_get = false;
  BlockingQuery query;  // what the client asked
  BlockingQuery until;  // what the playlist must hold for the answer
  std::chrono::steady_clock::time_point deadline;
  // Claimed by whoever answers it (wake-up, timeout, hang-up, stop).
  std::atomic<bool> done{false};
  Waiter(std::shared_ptr<http::Exchange> e, std::string r) : ex(std::move(e)), rel(std::move(r)) {
    const auto& req = ex->request();
    // A signed request's headers are its own (caching capped at its
    // token's expiry): it cannot share the waiters' serialized answer.
    simple_get = req.method() == bhttp::verb::get && req.find(bhttp::field::range) == req.end() &&
                 !ex->has_response_filter();
  }
  // Whether snap is what it waits for (a 400 for a restarted playlist too).
  bool answerable(const Snapshot& snap) const {
    return part || (snap.index && readiness(*snap.index, until) != Readiness::kWait);
  }
};

namespace {

// Dot names (.dvr/ holds the archive index) are never served.
bool has_dot_component(const std::string& rel) {
  size_t i = 0;
  while (i < rel.size()) {
    if (rel[i] == '.') return true;
    size_t slash = rel.find('/', i);
    if (slash == std::string::npos) break;
    i = slash + 1;
  }
  return false;
}

bool wants_gzip(const http::Exchange& ex) {
  const auto& req = ex.request();
  auto it = req.find(bhttp::field::accept_encoding);
  return it != req.end() && accepts_gzip(it->value());
}

std::string_view cache_control_for(std::string_view rel) {
  static constexpr std::string_view kMedia[] = {".m4s", ".mp4", ".ts", ".aac", ".m4a", ".m4v", ".cmfv", ".cmfa"};
  for (auto e : kMedia)
    if (ends_with(rel, e)) return kImmutable;
  if (ends_with(rel, ".jpg") || ends_with(rel, ".vtt") || ends_with(rel, ".png")) return kShort;
  return kNoCache;
}

std::string dir_of(const std::string& rel) {
  auto slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

std::chrono::milliseconds auto_hold(double target_duration) {
  double ms = std::clamp(3000.0 * target_duration, 1000.0, 30000.0);
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

// Blocking-reload answers are cacheable by their full URL (query included):
// whatever the origin answers to "msn=N&part=P" stays a valid answer to it.
std::string blocking_cache_control(double target_duration) {
  int secs = static_cast<int>(std::clamp(std::ceil(6 * target_duration), 1.0, 60.0));
  return "public, max-age=" + std::to_string(secs);
}

}  // namespace

OriginService::OriginService(asio::io_context& ioc, FileStore& store, FileStore* web, OriginConfig cfg)
    : ioc_(ioc), store_(store), web_(web), cfg_(cfg), sweeper_(asio::make_strand(ioc)) {
  sweep();
}

OriginService::~OriginService() = default;

void OriginService::stop() {
  asio::dispatch(sweeper_.get_executor(), [this] {
    stopped_ = true;
    sweeper_.cancel();
  });
}

// One timer for all held requests rather than one each: thousands of
// timers would cost a timerfd update per wake-up. Timeouts are therefore
// kSweep late at most. The registry is scanned only once its earliest
// deadline has passed: a scan holds the lock the wake-up needs.
void OriginService::sweep() {
  sweeper_.expires_after(kSweep);
  sweeper_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Waiter>> expired;
    {
      std::lock_guard lock(mu_);
      if (now >= earliest_deadline_) {
        earliest_deadline_ = std::chrono::steady_clock::time_point::max();
        for (auto& [rel, m] : waiters_)
          for (auto& [k, w] : m) {
            if (w->deadline <= now)
              expired.push_back(w);
            else
              earliest_deadline_ = std::min(earliest_deadline_, w->deadline);
          }
        timed_out_ += expired.size();
      }
    }
    for (auto& w : expired) {
      bool head = w->ex->head();
      auto snap = w->fresh_join ? load(w->rel) : nullptr;
      if (snap && snap->index)
        finish(w, playlist_response(*snap, w->query, head, wants_gzip(*w->ex)));
      else if (w->part)
        finish(w, text_response(bhttp::status::not_found, "part not written in time", head));
      else
        finish(w, text_response(bhttp::status::service_unavailable,
                                "playlist did not reach _HLS_msn/_HLS_part in time", head));
    }
    sweep();
  });
}

size_t OriginService::held() const {
  std::lock_guard lock(mu_);
  return held_;
}

std::shared_ptr<const OriginService::Snapshot> OriginService::load(const std::string& rel) {
  auto got = store_.get(rel);
  if (!std::holds_alternative<FileData>(got)) return nullptr;
  FileData data = std::get<FileData>(std::move(got));
  bool playlist = ends_with(rel, ".m3u8");
  if (playlist && data.bytes) {
    std::lock_guard lock(mu_);
    auto it = playlists_.find(rel);
    if (it != playlists_.end() && it->second->data.bytes == data.bytes) return it->second;
  }
  auto snap = std::make_shared<Snapshot>();
  snap->data = std::move(data);
  if (playlist && snap->data.bytes) {
    snap->index = std::make_shared<const PlaylistIndex>(parse_playlist(*snap->data.bytes));
    std::lock_guard lock(mu_);
    playlists_[rel] = snap;
  }
  return snap;
}

void OriginService::handle(const std::shared_ptr<http::Exchange>& ex) {
  const auto& req = ex->request();
  bool head = ex->head();
  if (req.method() == bhttp::verb::options) {
    // CORS preflight: players send Range, so allow any requested header.
    Response res = base_response(bhttp::status::no_content);
    res.set(bhttp::field::access_control_allow_methods, "GET, HEAD, OPTIONS");
    auto asked = req.find(bhttp::field::access_control_request_headers);
    res.set(bhttp::field::access_control_allow_headers, asked != req.end() ? std::string(asked->value()) : "Range");
    res.set(bhttp::field::access_control_max_age, "86400");
    res.set(bhttp::field::allow, "GET, HEAD, OPTIONS");
    ex->send(std::move(res));
    return;
  }
  if (req.method() != bhttp::verb::get && !head) {
    Response res = text_response(bhttp::status::method_not_allowed, "method not allowed", false);
    res.set(bhttp::field::allow, "GET, HEAD, OPTIONS");
    ex->send(std::move(res));
    return;
  }
  auto target = http::parse_target(req.target());
  if (!target) return ex->send(text_response(bhttp::status::bad_request, "bad request target", head));
  auto rel = http::relative_path(target->path);
  if (!rel) return ex->send(text_response(bhttp::status::bad_request, "path leaves the root", head));
  // Before any routing: /CH/t/TOKEN/... and /CH/s/SID/... (in either
  // order) are served as /CH/... (files, blocking reload, catch-up,
  // thumbnails alike), a token checked first.
  std::optional<std::string> token;
  if (auto pt = strip_path_token(*rel)) {
    token = std::move(pt->token);
    *rel = std::move(pt->rel);
  }
  tag_session(*ex, *rel, *target, cfg_.sessions);
  if (!token)
    if (auto pt = strip_path_token(*rel)) {
      token = std::move(pt->token);
      *rel = std::move(pt->rel);
    }
  if (!admit(ex, *rel, token)) return;
  if (has_dot_component(*rel)) return ex->send(text_response(bhttp::status::not_found, "not found", head));
  if (catchup_ && catchup_->handle(ex, *rel, *target)) return;

  if (rel->empty() || *rel == "index.html") return serve_web(ex, "index.html");
  if (*rel == "golive") return serve_web(ex, "golive.html");
  if (rel->rfind("_player/", 0) == 0) return serve_web(ex, rel->substr(8));
  if (*rel == "_channels") return serve_channels(ex);
  if (*rel == "_status") return serve_status(ex);
  if (ends_with(*rel, ".m3u8")) return serve_playlist(ex, *rel, *target);

  auto got = store_.get(*rel);
  if (std::holds_alternative<FileData>(got)) {
    auto thumbs = thumbs_cache_control(store_, *rel, unix_ms_now());
    return serve_file(ex, *rel, std::get<FileData>(got), thumbs ? std::string_view(*thumbs) : cache_control_for(*rel));
  }
  switch (std::get<OpenError>(got)) {
    case OpenError::kNotFound: return serve_missing(ex, *rel);
    case OpenError::kForbidden: return ex->send(text_response(bhttp::status::forbidden, "forbidden", head));
    case OpenError::kIsDirectory: return ex->send(text_response(bhttp::status::not_found, "not found", head));
    case OpenError::kIo: break;
  }
  ex->send(text_response(bhttp::status::service_unavailable, "cannot read file", head));
}

bool OriginService::admit(const std::shared_ptr<http::Exchange>& ex, const std::string& rel,
                          const std::optional<std::string>& token) {
  size_t slash = rel.find('/');
  // Channels are directories: "CH/..." (never "_player/...", "_channels").
  std::string channel = slash == std::string::npos || rel[0] == '_' ? std::string() : rel.substr(0, slash);
  bool is_signed = auth_ && !channel.empty() && auth_->is_signed(channel);
  if (!token && !is_signed) return true;
  auto deny = [&](const char* code, const std::string& message) {
    Response res = base_response(bhttp::status::forbidden);
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::cache_control, "no-store");
    nlohmann::json j = {{"error", code}, {"message", message}};
    http::set_text(res, j.dump() + "\n", ex->head());
    ex->send(std::move(res));
    return false;
  };
  if (!token) return deny("token_missing", "channel " + channel + " plays only from a signed URL (/" + channel +
                                                "/t/TOKEN/...; sigma-origin sign)");
  if (!auth_) return deny("not_configured", "this origin has no playback secret to check a token with");
  if (channel.empty()) return deny("malformed", "a playback token belongs under a channel (/CH/t/TOKEN/...)");
  int64_t now_s = unix_ms_now() / 1000;
  TokenCheck c = auth_->check(*token, channel, client_address(ex->client()), now_s);
  if (!c.grant) return deny(token_error_name(c.error), token_error_message(c.error));
  auto& s = ex->session();
  s.id = c.grant->viewer;
  s.source = "token";
  s.mint = false;
  int64_t expires = c.grant->expires_unix_s;
  bool bound = !c.grant->ip.empty();
  ex->set_response_filter([expires, bound](Response& res) {
    auto it = res.find(bhttp::field::cache_control);
    if (it == res.end() || res.result_int() >= 400) return;
    res.set(bhttp::field::cache_control,
            signed_cache_control(it->value(), expires - unix_ms_now() / 1000, bound));
  });
  return true;
}

void OriginService::serve_file(const std::shared_ptr<http::Exchange>& ex, const std::string& rel,
                               const FileData& data, std::string_view cache_control) {
  const auto& req = ex->request();
  bool head = ex->head();
  http::RangeResult range;
  if (auto it = req.find(bhttp::field::range); it != req.end()) range = http::parse_range(it->value(), data.size);
  if (range.kind == http::RangeKind::kUnsatisfiable) {
    Response res = text_response(bhttp::status::range_not_satisfiable, "range not satisfiable", head);
    res.set(bhttp::field::content_range, "bytes */" + std::to_string(data.size));
    return ex->send(std::move(res));
  }
  bool partial = range.kind == http::RangeKind::kPartial;
  uint64_t offset = partial ? range.range.first : 0, length = partial ? range.range.length : data.size;
  Response res = base_response(partial ? bhttp::status::partial_content : bhttp::status::ok);
  res.set(bhttp::field::content_type, http::mime_type_for(rel));
  res.set(bhttp::field::cache_control, cache_control);
  res.set(bhttp::field::accept_ranges, "bytes");
  if (partial)
    res.set(bhttp::field::content_range, "bytes " + std::to_string(offset) + "-" + std::to_string(offset + length - 1) +
                                             "/" + std::to_string(data.size));
  res.content_length(length);
  if (!head) {
    res.body().bytes = data.bytes;
    res.body().file = data.file;
    res.body().offset = offset;
    res.body().length = length;
  }
  ex->send(std::move(res));
}

Response OriginService::playlist_response(const Snapshot& snap, const BlockingQuery& q, bool head, bool gzip) {
  Response res = base_response(bhttp::status::ok);
  res.set(bhttp::field::content_type, http::mime_type_for(".m3u8"));
  res.set(bhttp::field::vary, "Accept-Encoding");
  const PlaylistIndex* p = snap.index.get();
  std::shared_ptr<const std::string> body = snap.data.bytes;
  int form = 0;  // which body: whole, YES delta, v2 delta
  if (p && q.skip != BlockingQuery::Skip::kNo) {
    int k = q.skip == BlockingQuery::Skip::kV2 ? 1 : 0;
    std::lock_guard lock(snap.mu);
    if (!snap.delta_done[k]) {
      if (auto d = delta_playlist(*p, k == 1)) snap.delta[k] = std::make_shared<const std::string>(std::move(*d));
      snap.delta_done[k] = true;
    }
    if (snap.delta[k]) {
      body = snap.delta[k];
      form = k + 1;
    }
  }
  if (gzip && body->size() >= kGzipMinBytes) {
    std::lock_guard lock(snap.mu);
    if (!snap.gz_done[form]) {
      if (auto z = gzip_compress(*body)) snap.gz[form] = std::make_shared<const std::string>(std::move(*z));
      snap.gz_done[form] = true;
    }
    if (snap.gz[form]) {
      body = snap.gz[form];
      res.set(bhttp::field::content_encoding, "gzip");
    }
  }
  if (p && q.blocking() && !p->is_master)
    res.set(bhttp::field::cache_control, blocking_cache_control(p->target_duration));
  else if (p && p->endlist)
    res.set(bhttp::field::cache_control, "public, max-age=60");
  else if (p && !p->is_master && p->part_target == 0)
    res.set(bhttp::field::cache_control, "public, max-age=1");  // normal/low: short
  else
    res.set(bhttp::field::cache_control, kNoCache);  // LL-HLS clients block instead
  uint64_t n = body->size();
  http::set_bytes(res, std::move(body), 0, n, head);
  return res;
}

void OriginService::serve_playlist(const std::shared_ptr<http::Exchange>& ex, const std::string& rel,
                                   const http::Target& t) {
  bool head = ex->head();
  auto q = parse_blocking_query(t.query);
  if (!q) return ex->send(text_response(bhttp::status::bad_request, q.status().message(), head));
  auto snap = load(rel);
  if (!snap) {
    auto got = store_.get(rel);
    if (std::holds_alternative<OpenError>(got) && std::get<OpenError>(got) == OpenError::kForbidden)
      return ex->send(text_response(bhttp::status::forbidden, "forbidden", head));
    return ex->send(text_response(bhttp::status::not_found, "not found", head));
  }
  if (!snap->index) return serve_file(ex, rel, snap->data, kNoCache);  // too big to index
  if (snap->index->is_master && snap->data.bytes)
    if (auto body = session_master(*ex, *snap->data.bytes)) return ex->send(session_master_response(std::move(*body), head));
  Readiness r = readiness(*snap->index, *q);
  const PlaylistIndex& p = *snap->index;
  bool fresh_join = r == Readiness::kReady && !q->blocking() && cfg_.fresh_join && !p.is_master && !p.endlist &&
                    p.part_target > 0;
  if (r == Readiness::kReady && !fresh_join) return ex->send(playlist_response(*snap, *q, head, wants_gzip(*ex)));
  if (r == Readiness::kBadRequest)
    return ex->send(text_response(bhttp::status::bad_request, "_HLS_msn/_HLS_part too far beyond the playlist", head));
  auto w = std::make_shared<Waiter>(ex, rel);
  w->query = w->until = *q;
  auto timeout = cfg_.hold_timeout.count() > 0 ? cfg_.hold_timeout : auto_hold(p.target_duration);
  if (fresh_join) {
    w->fresh_join = true;
    w->until.msn = p.next_msn;
    w->until.part = p.pending_parts;
    timeout = std::chrono::milliseconds(static_cast<int64_t>(1500 * p.part_target));
  }
  hold(w, timeout);
  // The playlist may have changed between our look and the registration.
  if (auto again = load(rel); again && again != snap) recheck(w, *again);
}

void OriginService::hold(const std::shared_ptr<Waiter>& w, std::chrono::milliseconds timeout) {
  w->deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::lock_guard lock(mu_);
    waiters_[w->rel].emplace(w.get(), w);
    ++held_;
    if (w->part) ++held_parts_;
    earliest_deadline_ = std::min(earliest_deadline_, w->deadline);
  }
  // Weak: the exchange keeps this callback, and the waiter the exchange.
  w->ex->on_hangup([this, weak = std::weak_ptr<Waiter>(w)] {
    if (auto w = weak.lock()) abandon(w);
  });
}

void OriginService::abandon(const std::shared_ptr<Waiter>& w) {
  if (w->done.exchange(true)) return;
  unregister(w.get());
  std::lock_guard lock(mu_);
  ++hung_up_;
}

void OriginService::unregister(const Waiter* w) {
  std::lock_guard lock(mu_);
  auto it = waiters_.find(w->rel);
  if (it == waiters_.end()) return;
  if (it->second.erase(w)) {
    --held_;
    if (w->part) --held_parts_;
  }
  if (it->second.empty()) waiters_.erase(it);
}

void OriginService::finish(const std::shared_ptr<Waiter>& w, Response res) {
  if (w->done.exchange(true)) return;
  unregister(w.get());
  w->ex->send(std::move(res));
}

void OriginService::recheck(const std::shared_ptr<Waiter>& w, const Snapshot& snap) {
  if (!w->answerable(snap) || w->done.exchange(true)) return;
  unregister(w.get());
  respond(w, snap);
}

// Any thread: the write itself runs on the connection's strand. A plain GET
// gets the response built once for all waiters (header and body in one
// buffer, one send).
void OriginService::respond(const std::shared_ptr<Waiter>& w, const Snapshot& snap) {
  if (w->part) {
    if (!w->simple_get || !snap.data.bytes) return serve_file(w->ex, w->rel, snap.data, kImmutable);
    auto [wire, body] = cached_wire(snap, 0, [&] {
      Response res = base_response(bhttp::status::ok);
      res.set(bhttp::field::content_type, http::mime_type_for(w->rel));
      res.set(bhttp::field::cache_control, kImmutable);
      res.set(bhttp::field::accept_ranges, "bytes");
      http::set_bytes(res, snap.data.bytes, 0, snap.data.size, false);
      return res;
    });
    return w->ex->send_wire(std::move(wire), 200, body);
  }
  // A fresh join's answer is the plain playlist (not cacheable as a
  // blocking one), so it does not share the blocking answers' bytes.
  bool gzip = wants_gzip(*w->ex);
  if (w->fresh_join) return w->ex->send(playlist_response(snap, w->query, w->ex->head(), gzip));
  if (readiness(*snap.index, w->until) == Readiness::kBadRequest)  // the playlist restarted (new sequence numbers)
    return w->ex->send(text_response(bhttp::status::bad_request, "_HLS_msn/_HLS_part too far beyond the playlist",
                                     w->ex->head()));
  if (!w->simple_get) return w->ex->send(playlist_response(snap, w->query, w->ex->head(), gzip));
  int k = static_cast<int>(w->query.skip) + (gzip ? 3 : 0);
  auto [wire, body] = cached_wire(snap, k, [&] { return playlist_response(snap, w->query, false, gzip); });
  w->ex->send_wire(std::move(wire), 200, body);
}

template <class Build>
std::pair<std::shared_ptr<const std::string>, uint64_t> OriginService::cached_wire(const Snapshot& snap, int k,
                                                                                   Build build) {
  {
    std::lock_guard lock(snap.mu);
    if (snap.wire[k]) return {snap.wire[k], snap.wire_body[k]};
  }
  Response res = build();
  std::string wire = http::serialize_header(res);
  const auto& b = res.body();
  if (b.bytes) wire.append(b.bytes->data() + b.offset, b.length);
  auto shared = std::make_shared<const std::string>(std::move(wire));
  std::lock_guard lock(snap.mu);
  if (!snap.wire[k]) {
    snap.wire[k] = shared;
    snap.wire_body[k] = b.length;
  }
  return {snap.wire[k], snap.wire_body[k]};
}

bool OriginService::hinted(const std::string& rel) {
  std::string dir = dir_of(rel);
  {
    std::lock_guard lock(mu_);
    auto it = hints_.find(dir);
    if (it != hints_.end() && !it->second.dirty) return it->second.parts.count(rel) > 0;
  }
  Hints h;
  h.dirty = false;
  for (const auto& name : store_.list(dir)) {
    if (!ends_with(name, ".m3u8")) continue;
    auto snap = load(dir.empty() ? name : dir + "/" + name);
    if (!snap || !snap->index) continue;
    for (const auto& uri : snap->index->preload_parts) {
      if (uri.find("://") != std::string::npos || uri.empty() || uri[0] == '/') continue;
      auto r = http::relative_path("/" + (dir.empty() ? uri : dir + "/" + uri));
      if (r) h.parts.insert(*r);
    }
  }
  std::lock_guard lock(mu_);
  bool found = h.parts.count(rel) > 0;
  hints_[dir] = std::move(h);
  return found;
}

void OriginService::serve_missing(const std::shared_ptr<http::Exchange>& ex, const std::string& rel) {
  bool head = ex->head();
  if (!hinted(rel)) return ex->send(text_response(bhttp::status::not_found, "not found", head));
  auto w = std::make_shared<Waiter>(ex, rel);
  w->part = true;
  std::chrono::milliseconds timeout = cfg_.part_hold_timeout;
  if (timeout.count() <= 0) {
    double target = 1;
    std::string dir = dir_of(rel);
    std::lock_guard lock(mu_);
    for (const auto& [path, snap] : playlists_)
      if (snap->index && dir_of(path) == dir) target = std::max(target, snap->index->target_duration);
    timeout = auto_hold(target);
  }
  hold(w, timeout);
  if (auto snap = load(rel)) recheck(w, *snap);
}

void OriginService::file_ready(const std::string& rel) {
  if (ends_with(rel, ".m3u8")) {
    std::lock_guard lock(mu_);
    if (auto it = hints_.find(dir_of(rel)); it != hints_.end()) it->second.dirty = true;
  }
  {
    std::lock_guard lock(mu_);
    if (!waiters_.count(rel)) return;
  }
  // One read and one parse for every request waiting on this file.
  auto snap = load(rel);
  if (!snap) return;
  // Claim every waiter the new file answers, under one lock.
  std::vector<std::shared_ptr<Waiter>> ready;
  {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(rel);
    if (it == waiters_.end()) return;
    auto& m = it->second;
    ready.reserve(m.size());
    for (auto i = m.begin(); i != m.end();) {
      Waiter& w = *i->second;
      if (!w.answerable(*snap)) {
        ++i;
        continue;
      }
      --held_;
      if (w.part) --held_parts_;
      if (!w.done.exchange(true)) ready.push_back(std::move(i->second));
      i = m.erase(i);
    }
    if (m.empty()) waiters_.erase(it);
  }
  // Answered on every io thread: batches go to the io_context, whose
  // threads take them in turn; each answer then runs inline on its idle
  // connection's strand. A post per request would cost a queue operation
  // and an executor copy each.
  constexpr size_t kBatch = 64;
  for (size_t first = 0; first < ready.size(); first += kBatch) {
    size_t last = std::min(ready.size(), first + kBatch);
    std::vector<std::shared_ptr<Waiter>> batch(std::make_move_iterator(ready.begin() + first),
                                               std::make_move_iterator(ready.begin() + last));
    asio::post(ioc_, [this, batch = std::move(batch), snap] {
      for (const auto& w : batch) respond(w, *snap);
    });
  }
}

void OriginService::wake_all() {
  std::vector<std::string> paths;
  {
    std::lock_guard lock(mu_);
    for (auto& [rel, ws] : waiters_) paths.push_back(rel);
    for (auto& [dir, h] : hints_) h.dirty = true;
  }
  for (const auto& rel : paths) file_ready(rel);
}

void OriginService::release_all() {
  std::vector<std::shared_ptr<Waiter>> ws;
  {
    std::lock_guard lock(mu_);
    for (auto& [rel, m] : waiters_)
      for (auto& [k, w] : m) ws.push_back(w);
  }
  for (auto& w : ws) finish(w, text_response(bhttp::status::service_unavailable, "origin stopping", w->ex->head()));
}

void OriginService::serve_channels(const std::shared_ptr<http::Exchange>& ex) {
  nlohmann::json list = nlohmann::json::array();
  auto names = store_.list("");
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (name.empty() || name[0] == '.' || name[0] == '_') continue;
    auto master = load(name + "/master.m3u8");
    if (!master || !master->index) continue;
    if (auth_ && auth_->is_signed(name)) {  // its URLs need a token the list cannot give
      list.push_back({{"name", name}, {"signed", true}});
      continue;
    }
    nlohmann::json c = {{"name", name}, {"url", "/" + name + "/master.m3u8"}};
    // sigma-thumb writes this channel's pictures: the list can show them.
    if (store_.is_directory(name + "/thumbs")) c["thumbnail"] = "/" + name + "/thumbs/latest.jpg";
    list.push_back(std::move(c));
  }
  Response res = base_response(bhttp::status::ok);
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, kNoCache);
  http::set_text(res, list.dump() + "\n", ex->head());
  ex->send(std::move(res));
}

}  // namespace sigma::origin

#include "api/router.h"

#include <sys/stat.h>

#include <cctype>

#include "api/channel_body.h"
#include "base/log.h"
#include "http/url.h"

namespace sigma::api {

ApiReply error_reply(int status, const std::string& code, const std::string& message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  return {status, "application/json", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", {}};
}

ApiReply json_reply(int status, const nlohmann::json& body) {
  return {status, "application/json", body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", {}};
}

const std::vector<Route>& routes() {
  static const std::vector<Route> r = {
      {"GET", "/v1/openapi.json", Op::kOpenApi, Scope::kRead},
      {"GET", "/v1/channels", Op::kListChannels, Scope::kRead},
      {"GET", "/v1/channels/{name}", Op::kGetChannel, Scope::kRead},
      {"PUT", "/v1/channels/{name}", Op::kPutChannel, Scope::kWrite},
      {"DELETE", "/v1/channels/{name}", Op::kDeleteChannel, Scope::kWrite},
      {"POST", "/v1/channels/{name}/start", Op::kStartChannel, Scope::kWrite},
      {"POST", "/v1/channels/{name}/stop", Op::kStopChannel, Scope::kWrite},
      {"POST", "/v1/channels/{name}/stages/{stage}/restart", Op::kRestartStage, Scope::kWrite},
      {"POST", "/v1/channels/{name}/key/rotate", Op::kRotateKey, Scope::kWrite},
      {"POST", "/v1/channels/{name}/playback-url", Op::kPlaybackUrl, Scope::kWrite},
      {"GET", "/v1/events", Op::kEvents, Scope::kRead},
  };
  return r;
}

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 1;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  if (!out.empty() && out.back().empty() && out.size() > 1) out.pop_back();  // one trailing '/'
  return out;
}

}  // namespace

std::string target_path(const std::string& target) {
  if (target.empty() || target[0] != '/') return "";
  return target.substr(0, target.find('?'));
}

Match match_route(const std::string& method, const std::string& path) {
  Match m;
  if (path.empty() || path[0] != '/') return m;
  auto segs = split_path(path);
  for (auto& r : routes()) {
    auto tmpl = split_path(r.path);
    if (tmpl.size() != segs.size()) continue;
    std::string channel, stage;
    bool ok = true;
    for (size_t i = 0; i < tmpl.size() && ok; ++i) {
      if (tmpl[i] == "{name}" || tmpl[i] == "{stage}") {
        // Each segment decoded on its own: "%2F" is part of a name (and
        // refused there), never a separator.
        auto d = http::percent_decode(segs[i]);
        if (!d) {
          ok = false;
          break;
        }
        (tmpl[i] == "{name}" ? channel : stage) = *d;
      } else if (tmpl[i] != segs[i]) {
        ok = false;
      }
    }
    if (!ok) continue;
    if (method == r.method || (method == "HEAD" && std::string(r.method) == "GET" && r.op != Op::kEvents)) {
      m.route = &r;
      m.channel = channel;
      m.stage = stage;
      return m;
    }
    m.status = 405;
    m.allow += (m.allow.empty() ? "" : ", ") + std::string(r.method);
  }
  return m;
}

namespace {

// A name quoted in a message: JSON-escaped and short, so that what a
// client sent cannot forge lines in a log or a header.
std::string quote_field(const std::string& s) {
  std::string j = nlohmann::json(s.substr(0, 80)).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  return s.size() > 80 ? j + "..." : j;
}

bool valid_stage_name(const std::string& s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s)
    if (!std::islower(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::variant<Call, ApiReply> make_call(const ApiRequest& req, const Match& m) {
  Call c;
  c.op = m.route->op;
  std::string path = target_path(req.target);
  auto target = http::parse_target(req.target);
  if (!target) return error_reply(400, "bad_request", "the request target does not decode");
  c.query = target->query;
  if (std::string(m.route->path).find("{name}") != std::string::npos) {
    if (!valid_channel_name(m.channel))
      return error_reply(400, "bad_name", "channel name " + quote_field(m.channel) +
                                               ": use 1 to 64 of letters, digits, '-', '_', '.', not starting "
                                               "with '.' or '-'");
    c.channel = m.channel;
  }
  if (std::string(m.route->path).find("{stage}") != std::string::npos) {
    if (!valid_stage_name(m.stage)) return error_reply(400, "bad_name", "stage name " + quote_field(m.stage) + " is not one");
    c.stage = m.stage;
  }
  bool takes_body = c.op == Op::kPutChannel || c.op == Op::kPlaybackUrl;
  if (takes_body) {
    std::string_view b = req.body;
    bool blank = b.find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (blank && c.op == Op::kPutChannel) return error_reply(400, "bad_json", "PUT needs a JSON object of config keys");
    if (!blank) {
      c.body = nlohmann::json::parse(b, nullptr, false);
      if (c.body.is_discarded()) return error_reply(400, "bad_json", "the body is not valid JSON");
      if (!c.body.is_object()) return error_reply(400, "bad_json", "the body must be a JSON object");
    } else {
      c.body = nlohmann::json::object();
    }
    if (c.op == Op::kPutChannel) {
      auto e = channel_entries(c.body);
      if (auto* err = std::get_if<BodyError>(&e)) return error_reply(400, err->code, err->message);
    } else {
      for (auto& [k, v] : c.body.items()) {
        if (k == "ttl") {
          if (!v.is_string() && !v.is_number_integer())
            return error_reply(400, "bad_field", "field \"ttl\": a duration like \"1h\" or seconds");
        } else if (k == "ip" || k == "viewer") {
          if (!v.is_string()) return error_reply(400, "bad_field", "field \"" + k + "\": a string");
        } else {
          return error_reply(400, "bad_field", "unknown field " + quote_field(k) + " (expected ttl, ip, viewer)");
        }
      }
    }
  } else if (!req.body.empty()) {
    return error_reply(400, "bad_request", "this request takes no body");
  }
  if (c.op == Op::kEvents) {
    for (auto& [k, v] : c.query) {
      if (k == "channel" && !valid_channel_name(v))
        return error_reply(400, "bad_name", "channel filter " + quote_field(v) + " is not a channel name");
      if (k == "type" && (v.empty() || v.size() > 64))
        return error_reply(400, "bad_request", "type filter: an event type or a prefix ending in '.'");
    }
  }
  return c;
}

namespace {

// "Bearer TOKEN" (the scheme in any case); "" when it is not that form.
std::string bearer_token(const std::string& h) {
  if (h.size() < 8) return "";
  for (size_t i = 0; i < 6; ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != "bearer"[i]) return "";
  if (h[6] != ' ') return "";
  size_t b = h.find_first_not_of(' ', 7);
  if (b == std::string::npos) return "";
  std::string t = h.substr(b);
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t;
}

ApiReply unauthorized(const std::string& message, const char* error) {
  ApiReply r = error_reply(401, "unauthorized", message);
  r.headers.push_back({"WWW-Authenticate", std::string("Bearer realm=\"sigma\"") +
                                                (error ? std::string(", error=\"") + error + "\"" : "")});
  return r;
}

}  // namespace

Status Authenticator::refresh() {
  struct stat st {};
  int64_t mtime = -1, size = -1, ino = -1;
  if (::stat(opts_.tokens_file.c_str(), &st) == 0) {
    mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    size = st.st_size;
    ino = static_cast<int64_t>(st.st_ino);
  }
  if (mtime == mtime_ns_ && size == size_ && ino == ino_) return {};
  auto f = TokenFile::load(opts_.tokens_file);
  mtime_ns_ = mtime;
  size_ = size;
  ino_ = ino;
  if (!f) {
    // A broken file opens nothing (not the tokens it held before).
    tokens_ = TokenFile{};
    load_error_ = f.status().message();
    spdlog::error("API token file: {} (every request refused until it is fixed)", load_error_);
    return f.status();
  }
  tokens_ = std::move(*f);
  load_error_.clear();
  return {};
}

Result<bool> Authenticator::has_tokens() {
  std::lock_guard lock(mu_);
  mtime_ns_ = -2;  // read it now
  SIGMA_RETURN_IF_ERROR(refresh());
  return !tokens_.empty();
}

std::optional<ApiReply> Authenticator::check(const ApiRequest& req, Scope need, std::string& token_name,
                                             int64_t now_ms) {
  std::string addr = address_of(req.client);
  if (int64_t wait = limiter_.blocked_for_s(addr, now_ms); wait > 0) {
    ApiReply r = error_reply(429, "rate_limited", "too many failed authentications from this address; retry later");
    r.headers.push_back({"Retry-After", std::to_string(wait)});
    return r;
  }
  if (req.authorization.empty()) return unauthorized("this endpoint needs Authorization: Bearer TOKEN", nullptr);
  std::string token = bearer_token(req.authorization);
  std::lock_guard lock(mu_);
  (void)refresh();
  const TokenEntry* e = token.empty() || token.size() > 256 ? nullptr : tokens_.match(token);
  if (!e) {
    limiter_.failed(addr, now_ms);
    // The presented token is never logged, nor any part of it.
    spdlog::warn("API: refused a {} from {}: {}", token.empty() ? "malformed Authorization header" : "wrong token",
                 addr, req.method + " " + target_path(req.target).substr(0, 200));
    return unauthorized(token.empty() ? "expected Authorization: Bearer TOKEN" : "the token is not valid",
                        "invalid_token");
  }
  token_name = e->name;
  if (need == Scope::kWrite && e->scope != Scope::kWrite)
    return error_reply(403, "forbidden", "token '" + e->name + "' has scope read; this needs write");
  return std::nullopt;
}

}  // namespace sigma::api

#include "origin/sessions.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>

#include "http/mime.h"
#include "origin/responses.h"

namespace sigma::origin {
namespace {

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool b64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// A URI to prefix: relative and without a scheme ("720p/index.m3u8",
// "../x.m3u8"), not "/CH/..." nor "https://..." nor "data:...".
bool relative_uri(std::string_view uri) {
  if (uri.empty() || uri[0] == '/') return false;
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos) return true;
  size_t stop = uri.find_first_of("/?#");
  return stop != std::string_view::npos && stop < colon;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Tags of a master playlist whose URI attribute names a playlist.
bool uri_tag(std::string_view line) {
  return starts_with(line, "#EXT-X-MEDIA:") || starts_with(line, "#EXT-X-I-FRAME-STREAM-INF:") ||
         starts_with(line, "#EXT-X-IMAGE-STREAM-INF:");
}

void prefix_uri_attribute(std::string_view line, std::string_view prefix, std::string& out) {
  // URI="..." at an attribute boundary (not the tail of another name).
  size_t at = std::string_view::npos;
  for (size_t i = line.find("URI=\""); i != std::string_view::npos; i = line.find("URI=\"", i + 1))
    if (i > 0 && (line[i - 1] == ':' || line[i - 1] == ',')) {
      at = i;
      break;
    }
  if (at == std::string_view::npos) {
    out.append(line);
    return;
  }
  size_t start = at + 5;
  size_t end = line.find('"', start);
  if (end == std::string_view::npos || !relative_uri(line.substr(start, end - start))) {
    out.append(line);
    return;
  }
  out.append(line.substr(0, start));
  out.append(prefix);
  out.append(line.substr(start));
}

}  // namespace

std::string new_session_id() {
  std::array<uint8_t, 16> b{};
  size_t got = 0;
  while (got < b.size()) {
    ssize_t r = getrandom(b.data() + got, b.size() - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      // No entropy: an id a viewer could guess would let it pass for
      // another; better none than a weak one.
      return {};
    }
    got += static_cast<size_t>(r);
  }
  std::string s;
  s.reserve(kSessionIdLength);
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t x : b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      s.push_back(kB64Url[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) s.push_back(kB64Url[(acc << (6 - bits)) & 63]);
  return s;
}

bool valid_session_id(std::string_view s) {
  if (s.size() != kSessionIdLength) return false;
  for (char c : s)
    if (!b64url_char(c)) return false;
  return true;
}

std::optional<PathSession> strip_path_session(std::string_view rel) {
  size_t slash = rel.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  std::string_view rest = rel.substr(slash + 1);
  if (!starts_with(rest, "s/") || rest.size() < 2 + kSessionIdLength + 1) return std::nullopt;
  std::string_view sid = rest.substr(2, kSessionIdLength);
  if (!valid_session_id(sid) || rest[2 + kSessionIdLength] != '/') return std::nullopt;
  std::string_view tail = rest.substr(2 + kSessionIdLength + 1);
  PathSession p;
  p.sid = std::string(sid);
  p.rel = std::string(rel.substr(0, slash));
  if (!tail.empty()) p.rel += "/" + std::string(tail);
  return p;
}

std::optional<std::string> cmcd_sid(std::string_view keys) {
  size_t i = 0, n = keys.size();
  while (i < n) {
    while (i < n && (keys[i] == ' ' || keys[i] == ',')) ++i;
    size_t k = i;
    while (i < n && keys[i] != '=' && keys[i] != ',') ++i;
    std::string_view key = keys.substr(k, i - k);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (i >= n || keys[i] == ',') continue;  // a boolean key
    ++i;                                     // '='
    if (i < n && keys[i] == '"') {
      size_t v = ++i;
      bool clean = true;
      while (i < n && keys[i] != '"') {
        unsigned char c = static_cast<unsigned char>(keys[i]);
        if (c == '\\') {  // an escape (RFC 8941 strings): skip what it escapes
          clean = false;
          i += 2;
          continue;
        }
        if (c < 0x20 || c > 0x7e) clean = false;
        ++i;
      }
      if (i >= n) return std::nullopt;  // unterminated string
      std::string_view value = keys.substr(v, i - v);
      ++i;  // closing quote
      if (key == "sid") {
        if (!clean || value.empty() || value.size() > kCmcdSidMax) return std::nullopt;
        return std::string(value);
      }
    } else {
      while (i < n && keys[i] != ',') ++i;
      if (key == "sid") return std::nullopt;  // a token, not the string CTA-5004 says
    }
  }
  return std::nullopt;
}

void tag_session(http::Exchange& ex, std::string& rel, const http::Target& t, bool mint) {
  auto& s = ex.session();
  if (auto p = strip_path_session(rel)) {
    rel = std::move(p->rel);
    s.id = std::move(p->sid);
    s.source = "path";
    return;
  }
  std::optional<std::string> sid;
  if (auto it = t.query.find("CMCD"); it != t.query.end()) sid = cmcd_sid(it->second);
  if (!sid) {
    const auto& req = ex.request();
    if (auto it = req.find("CMCD-Session"); it != req.end()) sid = cmcd_sid(it->value());
  }
  if (sid) {
    s.id = std::move(*sid);
    s.source = "cmcd";
    return;
  }
  s.mint = mint;
}

std::string prefix_master_uris(std::string_view master, std::string_view sid) {
  std::string prefix = "s/" + std::string(sid) + "/";
  std::string out;
  out.reserve(master.size() + 16 * prefix.size());
  size_t i = 0;
  while (i < master.size()) {
    size_t nl = master.find('\n', i);
    size_t end = nl == std::string_view::npos ? master.size() : nl;
    std::string_view line = master.substr(i, end - i);
    std::string_view eol;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
      eol = "\r";
    }
    size_t lead = 0;
    while (lead < line.size() && (line[lead] == ' ' || line[lead] == '\t')) ++lead;
    std::string_view body = line.substr(lead);
    if (body.empty()) {
      out.append(line);
    } else if (body[0] == '#') {
      if (uri_tag(body))
        prefix_uri_attribute(line, prefix, out);
      else
        out.append(line);
    } else if (relative_uri(body)) {
      out.append(line.substr(0, lead));
      out.append(prefix);
      out.append(body);
    } else {
      out.append(line);
    }
    out.append(eol);
    if (nl == std::string_view::npos) break;
    out.push_back('\n');
    i = nl + 1;
  }
  return out;
}

std::optional<std::string> session_master(http::Exchange& ex, std::string_view master) {
  auto& s = ex.session();
  if (!s.mint || !s.id.empty()) return std::nullopt;
  s.mint = false;
  std::string id = new_session_id();
  if (id.empty()) return std::nullopt;
  s.id = std::move(id);
  s.source = "path";
  return prefix_master_uris(master, s.id);
}

http::Response session_master_response(std::string body, bool head) {
  namespace bhttp = boost::beast::http;
  http::Response res = base_response(bhttp::status::ok);
  res.set(bhttp::field::content_type, http::mime_type_for(".m3u8"));
  res.set(bhttp::field::cache_control, "private, no-store");
  http::set_text(res, std::move(body), head);
  return res;
}

}  // namespace sigma::origin

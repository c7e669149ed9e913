#include "origin/signing.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "base/fs.h"
#include "crypto/crypto.h"

namespace sigma::origin {
namespace {

constexpr size_t kMacChars = 43;  // base64url of 32 bytes, no padding
constexpr size_t kExpiryDigitsMax = 18;

bool url_safe(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool all_url_safe(std::string_view s) {
  for (char c : s)
    if (!url_safe(c)) return false;
  return true;
}

// The address's bytes (4 for IPv4, IPv4-mapped IPv6 included; 16 for other
// IPv6); "" for "" (any address); nullopt when not an address.
std::optional<std::string> address_bytes(std::string_view text) {
  if (text.empty()) return std::string();
  if (text.size() > 64) return std::nullopt;
  std::string s(text);
  if (s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  unsigned char b[16];
  if (inet_pton(AF_INET, s.c_str(), b) == 1) return std::string(reinterpret_cast<char*>(b), 4);
  if (inet_pton(AF_INET6, s.c_str(), b) != 1) return std::nullopt;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, b)) return std::string(reinterpret_cast<char*>(b + 12), 4);
  return std::string(reinterpret_cast<char*>(b), 16);
}

std::string address_text(const std::string& bytes) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (bytes.size() == 4) inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  if (bytes.size() == 16) inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string mac_message(std::string_view channel, std::string_view expiry, std::string_view addr,
                        std::string_view viewer) {
  std::string m = "sigma-playback-1\n";
  m.append(channel).append("\n").append(expiry).append("\n").append(addr).append("\n").append(viewer);
  return m;
}

std::string new_viewer_id() { return crypto::base64url_encode(crypto::random_bytes(16)); }

struct TokenParts {
  std::string_view viewer, expiry, addr, mac;
};

std::optional<TokenParts> split_token(std::string_view t) {
  if (t.empty() || t.size() > kPlaybackTokenMax) return std::nullopt;
  std::string_view parts[4];
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = i < 3 ? t.find('.', start) : t.size();
    if (dot == std::string_view::npos) return std::nullopt;
    parts[i] = t.substr(start, dot - start);
    start = dot + 1;
  }
  if (parts[3].find('.') != std::string_view::npos) return std::nullopt;
  return TokenParts{parts[0], parts[1], parts[2], parts[3]};
}

bool parse_expiry(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > kExpiryDigitsMax || (s.size() > 1 && s[0] == '0')) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool is_hex_escape(std::string_view s, size_t i, char a, char b) {
  return i + 2 < s.size() && s[i] == '%' && s[i + 1] == a && std::toupper(static_cast<unsigned char>(s[i + 2])) == b;
}

}  // namespace

bool valid_viewer_id(std::string_view v) { return !v.empty() && v.size() <= kViewerIdMax && all_url_safe(v); }

bool valid_grant_address(std::string_view ip) { return address_bytes(ip).has_value(); }

std::string mint_playback_token(std::string_view secret, const PlaybackGrant& g) {
  std::string viewer = g.viewer.empty() ? new_viewer_id() : g.viewer;
  if (!valid_viewer_id(viewer) || g.expires_unix_s < 0) return {};
  auto bytes = address_bytes(g.ip);
  if (!bytes) return {};
  std::string addr = crypto::base64url_encode(*bytes);
  std::string expiry = std::to_string(g.expires_unix_s);
  std::string mac = crypto::base64url_encode(crypto::hmac_sha256(secret, mac_message(g.channel, expiry, addr, viewer)));
  return viewer + "." + expiry + "." + addr + "." + mac;
}

std::string signed_playback_path(const std::string& channel, const std::string& token) {
  return "/" + channel + "/t/" + token + "/master.m3u8";
}

Result<std::vector<std::string>> load_playback_secrets(const std::string& path) {
  auto text = read_file(path);
  if (!text) return usage_error("playback secret file " + path + ": " + text.status().message());
  std::vector<std::string> secrets;
  size_t line_no = 0, i = 0;
  const std::string& s = *text;
  while (i < s.size()) {
    size_t nl = s.find('\n', i);
    if (nl == std::string::npos) nl = s.size();
    std::string_view line(s.data() + i, nl - i);
    i = nl + 1;
    ++line_no;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    if (line.empty() || line[0] == '#') continue;
    if (line.size() < kPlaybackSecretMin)
      return usage_error("playback secret file " + path + ":" + std::to_string(line_no) + ": a secret of " +
                         std::to_string(line.size()) + " bytes (at least " + std::to_string(kPlaybackSecretMin) +
                         " needed)");
    secrets.emplace_back(line);
  }
  if (secrets.empty()) return usage_error("playback secret file " + path + ": no secret in it");
  return secrets;
}

const char* token_error_name(TokenError e) {
  switch (e) {
    case TokenError::kMalformed: return "malformed";
    case TokenError::kBadSignature: return "bad_signature";
    case TokenError::kExpired: return "expired";
    case TokenError::kWrongAddress: return "wrong_address";
  }
  return "malformed";
}

const char* token_error_message(TokenError e) {
  switch (e) {
    case TokenError::kMalformed: return "malformed playback token";
    case TokenError::kBadSignature: return "playback token signature does not match (tampered, another channel's, or a retired secret)";
    case TokenError::kExpired: return "playback token expired";
    case TokenError::kWrongAddress: return "playback token is bound to another client address";
  }
  return "malformed playback token";
}

TokenCheck check_playback_token(const std::vector<std::string>& secrets, std::string_view token,
                                std::string_view channel, std::string_view client_ip, int64_t now_unix_s) {
  TokenCheck r;
  auto parts = split_token(token);
  int64_t expiry = 0;
  if (!parts || !valid_viewer_id(parts->viewer) || !parse_expiry(parts->expiry, expiry) ||
      parts->mac.size() != kMacChars || !all_url_safe(parts->mac) || !all_url_safe(parts->addr)) {
    r.error = TokenError::kMalformed;
    return r;
  }
  std::string addr;
  if (!parts->addr.empty()) {
    auto decoded = crypto::base64url_decode(parts->addr);
    // One spelling per address: re-encoding must give back what was signed.
    if (!decoded || (decoded->size() != 4 && decoded->size() != 16) ||
        crypto::base64url_encode(*decoded) != parts->addr) {
      r.error = TokenError::kMalformed;
      return r;
    }
    addr = std::move(*decoded);
  }
  std::string message = mac_message(channel, parts->expiry, parts->addr, parts->viewer);
  bool good = false;
  for (const auto& secret : secrets) {
    std::string mac = crypto::base64url_encode(crypto::hmac_sha256(secret, message));
    // Every secret is tried (no early exit), so the time says nothing of which matched.
    good |= crypto::constant_time_equal(mac, parts->mac);
  }
  if (!good) {
    r.error = TokenError::kBadSignature;
    return r;
  }
  if (now_unix_s >= expiry) {
    r.error = TokenError::kExpired;
    return r;
  }
  if (!addr.empty()) {
    auto client = address_bytes(client_ip);
    if (!client || *client != addr) {
      r.error = TokenError::kWrongAddress;
      return r;
    }
  }
  PlaybackGrant g;
  g.channel = std::string(channel);
  g.expires_unix_s = expiry;
  g.ip = address_text(addr);
  g.viewer = std::string(parts->viewer);
  r.grant = std::move(g);
  return r;
}

Result<PlaybackGrant> verify_playback_token(const std::vector<std::string>& secrets, std::string_view token,
                                            std::string_view channel, std::string_view client_ip,
                                            int64_t now_unix_s) {
  TokenCheck c = check_playback_token(secrets, token, channel, client_ip, now_unix_s);
  if (c.grant) return std::move(*c.grant);
  return data_error(token_error_message(c.error));
}

std::optional<PathToken> strip_path_token(std::string_view rel) {
  size_t slash = rel.find('/');
  if (slash == std::string_view::npos || slash == 0 || rel[0] == '_' || rel[0] == '.') return std::nullopt;
  std::string_view rest = rel.substr(slash + 1);
  if (rest.substr(0, 2) != "t/") return std::nullopt;
  std::string_view tail = rest.substr(2);
  size_t end = tail.find('/');
  PathToken p;
  p.token = std::string(tail.substr(0, end));
  p.rel = std::string(rel.substr(0, slash));
  if (end != std::string_view::npos && end + 1 < tail.size()) p.rel += "/" + std::string(tail.substr(end + 1));
  return p;
}

std::string redact_path_token(std::string_view s) {
  std::string out;
  size_t i = 0, copied = 0;
  while (i < s.size()) {
    size_t start = std::string_view::npos;
    bool encoded = false;
    if (s[i] == '/' && i + 2 < s.size() && s[i + 1] == 't' && s[i + 2] == '/') {
      start = i + 3;
    } else if (is_hex_escape(s, i, '2', 'F') && i + 3 < s.size() && s[i + 3] == 't' && is_hex_escape(s, i + 4, '2', 'F')) {
      start = i + 7;
      encoded = true;
    }
    if (start == std::string_view::npos || start >= s.size()) {
      ++i;
      continue;
    }
    // The element: up to the next '/' (or its escape), '?', '#', '&'.
    size_t end = start;
    while (end < s.size() && s[end] != '/' && s[end] != '?' && s[end] != '#' && s[end] != '&' &&
           !(encoded && s[end] == '%'))
      ++end;
    if (end == start) {
      i = start;
      continue;
    }
    std::string_view element = s.substr(start, end - start);
    size_t dots = 0;
    for (char c : element) dots += c == '.';
    // A token has three dots and 43 characters of MAC: a file name
    // ("/t/master.m3u8", a channel called t) is left alone.
    if (dots < 2 && element.size() < 40) {
      i = end;
      continue;
    }
    size_t dot = element.find('.');
    out.append(s.substr(copied, start - copied));
    if (dot != std::string_view::npos && dot > 0 && valid_viewer_id(element.substr(0, dot)))
      out.append(element.substr(0, dot)).append(".REDACTED");
    else
      out.append("REDACTED");
    copied = i = end;
  }
  if (copied == 0) return std::string(s);
  out.append(s.substr(copied));
  return out;
}

}  // namespace sigma::origin

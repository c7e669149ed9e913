#pragma once
// Signed playback URLs (sigma-origin(1), SIGNED PLAYBACK). A channel that
// is "playback = signed" is served only under /CH/t/TOKEN/...: the token
// is one path element, so every relative URI of its playlists (variants,
// parts, segments, rendition reports, thumbs) inherits it and the player
// sends it on every request with no playlist rewriting, and a caching
// proxy keys on it with the rest of the path.
//
// TOKEN = VIEWER.EXPIRY.ADDR.MAC, each part URL-safe: the viewer id
// ([A-Za-z0-9_-]), the expiry in Unix seconds, the address the token is
// bound to as base64url of its 4 or 16 bytes ("" = any), and base64url of
// HMAC-SHA256(secret, "sigma-playback-1\n" CHANNEL "\n" EXPIRY "\n" ADDR
// "\n" VIEWER). The channel is in the MAC but not in the token (the path
// names it). The viewer id comes first and in clear so a log can keep it
// while the rest is redacted ("/CH/t/VIEWER.REDACTED/...": a cache's log
// rewritten so still tells sigma-stats who watched). Verification tries
// each secret of the secrets file (current first, then previous:
// rotation) and compares MACs in constant time (crypto::constant_time_equal).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sigma::origin {

inline constexpr size_t kPlaybackSecretMin = 32;  // bytes of one secret line
inline constexpr size_t kViewerIdMax = 64;        // [A-Za-z0-9_-], as a CMCD sid fits
inline constexpr size_t kPlaybackTokenMax = 256;  // characters; longer is no token

struct PlaybackGrant {
  std::string channel;
  int64_t expires_unix_s = 0;
  std::string ip;      // "" = any address
  std::string viewer;  // viewer id; "" = mint one (random, 22 characters)
};

// The token, usable as one path element (no '/'). The grant's viewer, when
// empty, is minted (random); an invalid viewer id or address makes the
// token "" (check them first with valid_viewer_id / valid_grant_address).
std::string mint_playback_token(std::string_view secret, const PlaybackGrant& g);

// "/CH/t/TOKEN/master.m3u8".
std::string signed_playback_path(const std::string& channel, const std::string& token);

// 1..kViewerIdMax characters of [A-Za-z0-9_-].
bool valid_viewer_id(std::string_view v);
// An IPv4 or IPv6 address in text form ("" too: any address).
bool valid_grant_address(std::string_view ip);

// Secrets file: one secret a line (at least kPlaybackSecretMin bytes; blank
// lines and lines starting with '#' skipped), current secret first,
// previous after (rotation). Unreadable, empty or a short secret: an error
// (usage, exit 100) that never quotes a secret.
Result<std::vector<std::string>> load_playback_secrets(const std::string& path);

// Why a token was refused; the message of the Status says the same in words
// ("token expired", ...) and never contains the token.
enum class TokenError { kMalformed, kBadSignature, kExpired, kWrongAddress };
const char* token_error_name(TokenError e);  // "malformed", "bad_signature", "expired", "wrong_address"
const char* token_error_message(TokenError e);  // "playback token expired", ...

struct TokenCheck {
  std::optional<PlaybackGrant> grant;  // set when the token is good
  TokenError error = TokenError::kMalformed;
};
// A token of another channel fails as kBadSignature (the channel is in the
// MAC). client_ip is compared with the grant's ip after taking off an
// IPv4-mapped IPv6 prefix ("::ffff:").
TokenCheck check_playback_token(const std::vector<std::string>& secrets, std::string_view token,
                                std::string_view channel, std::string_view client_ip, int64_t now_unix_s);

// The same as a Result (error: data error with the reason's words).
Result<PlaybackGrant> verify_playback_token(const std::vector<std::string>& secrets, std::string_view token,
                                            std::string_view channel, std::string_view client_ip,
                                            int64_t now_unix_s);

// "CH/t/TOKEN/720p/index.m3u8" -> {TOKEN, "CH/720p/index.m3u8"}; nullopt when
// rel has no "t/" element after the channel.
struct PathToken {
  std::string token;
  std::string rel;  // the path with "t/TOKEN/" taken out
};
std::optional<PathToken> strip_path_token(std::string_view rel);

// A path (or request target) with the token replaced by "REDACTED", for the
// access log: "/CH/t/VIEWER.EXP.ADDR.MAC/a.m4s" -> "/CH/t/VIEWER.REDACTED/a.m4s"
// (an element with no viewer part becomes "REDACTED"). Looks for "/t/" and
// its percent-encoded form anywhere, so a Referer holding a signed URL is
// redacted too.
std::string redact_path_token(std::string_view path);

}  // namespace sigma::origin

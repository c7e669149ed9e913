#pragma once
// Viewer sessions carried in the path (sigma-origin(1), SESSIONS): a
// master playlist asked for without a session gets a new id SID and its
// variant and rendition URIs are prefixed with "s/SID/"; every URL under
// /CH/s/SID/ is then served as /CH/..., so media playlists, segments,
// parts and blocking reloads need no rewriting (their relative URIs stay
// inside /CH/s/SID/ by themselves). A player that sends a CMCD session id
// (query CMCD=...sid="..." or header CMCD-Session) is taken at its word.
// The id only names a playback for the access log: it grants nothing.
#include <optional>
#include <string>
#include <string_view>

#include "http/server.h"
#include "http/url.h"

namespace sigma::origin {

inline constexpr size_t kSessionIdLength = 22;  // base64url of 128 bits, no padding
inline constexpr size_t kCmcdSidMax = 64;       // CTA-5004: sid is at most 64 characters

// 128 random bits (getrandom) as 22 base64url characters; "" when the
// system has no entropy to give.
std::string new_session_id();
bool valid_session_id(std::string_view s);

struct PathSession {
  std::string sid;
  std::string rel;  // the path with "s/SID/" taken out
};
// "CH/s/SID/720p/index.m3u8" -> {SID, "CH/720p/index.m3u8"}; nullopt when
// rel has no session (a malformed SID is no session: the path is served,
// or not found, as it is).
std::optional<PathSession> strip_path_session(std::string_view rel);

// The sid of a CMCD key list ("br=3200,sid=\"6e2f...\",su"), nullopt when
// absent or unusable (unquoted, empty, longer than kCmcdSidMax, a control
// character, a quote or a backslash inside).
std::optional<std::string> cmcd_sid(std::string_view keys);

// The session of a request, put on the exchange for the access log: the
// path's, else CMCD's (query, then header). rel is updated (the path
// session stripped). mint: no session was given and sessions are on (the
// answer, when it is a master playlist, starts one: see session_master).
void tag_session(http::Exchange& ex, std::string& rel, const http::Target& t, bool mint);

// A master playlist's text with every relative variant, rendition and
// I-frame URI prefixed with "s/SID/" (absolute URIs and "/..." paths kept).
std::string prefix_master_uris(std::string_view master, std::string_view sid);

// For the answer to a master playlist request: when the exchange may mint
// a session, makes one (id on the exchange, source "path") and returns the
// master rewritten for it; the caller sends it "private, no-store" and not
// compressed. nullopt: the master is answered as it is.
std::optional<std::string> session_master(http::Exchange& ex, std::string_view master);

// The answer with such a master: never stored by a shared cache (it names
// one viewer), nor by the player's own.
http::Response session_master_response(std::string body, bool head);

}  // namespace sigma::origin

#pragma once
// One access-log line as sigma-stats reads it: the origin's NDJSON
// (common/http/access_log.h) or an nginx log_format escape=json written in
// the same field names. Only a flat JSON object of strings and numbers is
// a line; anything else is garbage. The channel, track and kind come from
// the path itself, so a cache's log works as well as the origin's.
#include <cstdint>
#include <string>
#include <string_view>

namespace sigma::stats {

enum class Kind : uint8_t { kMaster, kPlaylist, kSegment, kPart, kInit, kThumbnail, kOther };
const char* kind_name(Kind k);

enum class Source : uint8_t { kPath, kCmcd, kFallback, kToken };  // kToken: a signed URL's viewer id
const char* source_name(Source s);

struct LogLine {
  int64_t time_ms = -1;  // "time" (ISO 8601) or "msec" (Unix seconds.ms)
  std::string client;    // address without the port
  std::string method, path, query, user_agent, session, session_source;
  int status = 0;
  uint64_t bytes = 0;
};

// false: not a line of ours (garbage, truncated, no path, time or status).
bool parse_log_line(std::string_view text, LogLine& out);

struct PathInfo {
  std::string channel;  // first component ("" for "/" or "/_x/...": no channel)
  std::string track;    // the directory holding the file below the channel, "" if none
  std::string sid;      // from ".../s/SID/...", "" when none
  std::string viewer;   // from ".../t/VIEWER.xxx/..." (a signed URL, its token redacted or not), "" when none
  Kind kind = Kind::kOther;
};
void classify_path(std::string_view path, PathInfo& out);

// The sid="..." of a CMCD query (CMCD=... URL-encoded or not); "" if none.
std::string cmcd_sid_from_query(std::string_view query);

// "2026-12-03T10:00:00.123Z" (and the other forms of parse_time) -> Unix ms; -1 if not a time.
int64_t parse_iso_ms(std::string_view s);

}  // namespace sigma::stats

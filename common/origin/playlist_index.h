#pragma once
// What the origin needs to know about an HLS playlist to answer LL-HLS
// requests (RFC 8216bis section 6.2.5): which segments and parts it holds,
// its server-control limits, its preload hints, and where each segment's
// lines are so a delta update (EXT-X-SKIP) can be cut from it. It is read
// from the file the packager wrote, never rebuilt: the origin serves the
// packager's bytes.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sigma::origin {

struct PlaylistIndex {
  bool is_master = false;
  bool endlist = false;
  int version = 1;
  double target_duration = 0;
  double part_target = 0;        // EXT-X-PART-INF:PART-TARGET, 0 without parts
  int64_t media_sequence = 0;
  int64_t next_msn = 0;          // first segment not yet complete
  int pending_parts = 0;         // EXT-X-PART lines of segment next_msn
  bool can_block_reload = false;
  double can_skip_until = 0;     // 0: delta updates not offered
  bool can_skip_dateranges = false;
  std::vector<std::string> preload_parts;  // EXT-X-PRELOAD-HINT TYPE=PART URIs

  // Lines of the text, and for each complete segment the range of lines
  // that belong to it ([first, uri]), for delta updates.
  std::vector<std::string_view> lines;  // views into the parsed text
  size_t header_end = 0;                // lines [0, header_end) are the header
  struct Segment {
    size_t first_line = 0;
    size_t uri_line = 0;
    double duration = 0;
    int parts = 0;  // EXT-X-PART lines listed for it (0: none listed any more)
  };
  std::vector<Segment> segments;
};

// Parses text (which must outlive the index: lines are views into it).
PlaylistIndex parse_playlist(std::string_view text);

// The query of a playlist request: _HLS_msn, _HLS_part, _HLS_skip.
struct BlockingQuery {
  std::optional<int64_t> msn;
  std::optional<int64_t> part;
  enum class Skip { kNo, kYes, kV2 } skip = Skip::kNo;
  bool blocking() const { return msn.has_value(); }
};

// Usage errors (bad numbers, _HLS_part without _HLS_msn, unknown _HLS_skip
// value) are for a 400 answer.
Result<BlockingQuery> parse_blocking_query(const std::map<std::string, std::string>& query);

enum class Readiness {
  kReady,       // the playlist holds what was asked for: answer now
  kWait,        // hold the request until the playlist changes
  kBadRequest,  // too far in the future (the spec's 400)
};

Readiness readiness(const PlaylistIndex& p, const BlockingQuery& q);

// The Advance Part Limit of RFC 8216bis 6.2.5.2: how many parts past the
// last one a client may ask for before getting a 400.
double advance_part_limit(double part_target);

// The delta update for _HLS_skip=YES (v2: EXT-X-DATERANGE tags of the
// skipped segments are dropped too). nullopt when the playlist does not
// offer CAN-SKIP-UNTIL or nothing is old enough to skip: serve it whole.
std::optional<std::string> delta_playlist(const PlaylistIndex& p, bool v2);

}  // namespace sigma::origin

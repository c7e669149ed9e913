#pragma once
// The media playlist model (RFC 8216bis section 4.4) and its text form.
// The model knows nothing about files or muxers: the package layer fills it
// from segmenter reports and writes render()'s output atomically. Tests
// compare render() with golden strings.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace sigma::hls {

struct Part {
  double duration = 0;  // seconds
  std::string uri;
  bool independent = false;  // starts with a keyframe
};

struct Segment {
  int64_t msn = 0;
  double duration = 0;  // seconds
  std::string uri;
  // EXT-X-MAP URI in force for this segment; a tag is written where it
  // differs from the previous segment's.
  std::string map_uri;
  bool discontinuity = false;
  bool gap = false;  // EXT-X-GAP: the track has no media here, uri names no file
  std::optional<int64_t> program_date_time_ms;  // unix ms
  std::vector<Part> parts;  // only listed while recent (see render)
};

struct RenditionReport {
  std::string uri;  // relative to the playlist that carries the report
  int64_t last_msn = 0;
  int last_part = -1;  // -1: no parts (LAST-PART omitted)
};

struct LowLatency {
  double part_target = 0;      // EXT-X-PART-INF:PART-TARGET
  double part_hold_back = 0;   // >= 3 part targets
  double can_skip_until = 0;   // >= 6 target durations; 0: omitted
  // Parts of the segment being built (they follow the last EXTINF).
  std::vector<Part> pending_parts;
  std::optional<int64_t> pending_program_date_time_ms;  // of the segment being built
  std::string pending_map_uri;
  bool pending_discontinuity = false;
  std::string preload_hint_uri;  // next part; empty: no hint
  std::vector<RenditionReport> rendition_reports;
};

struct MediaPlaylist {
  int version = 7;
  int target_duration = 6;  // seconds; EXTINF rounded never exceeds it
  int64_t discontinuity_sequence = 0;
  std::string playlist_type;  // "", "EVENT" or "VOD"
  bool independent_segments = true;
  std::deque<Segment> segments;  // oldest first; media sequence = front().msn
  int64_t next_msn = 0;          // media sequence when segments is empty
  bool ended = false;            // EXT-X-ENDLIST
  // Without low_latency: EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,
  // CAN-SKIP-UNTIL, so that a long DVR window can be reloaded as a delta
  // update (the origin cuts it and holds blocking reloads); 0: no
  // SERVER-CONTROL tag. With low_latency, its own figure is used.
  double can_skip_until = 0;
  std::optional<LowLatency> low_latency;

  int64_t media_sequence() const { return segments.empty() ? next_msn : segments.front().msn; }
};

// EXT-X-PART tags are listed only where no part starts more than this many
// target durations from the end of the playlist (RFC 8216bis 4.4.4.9),
// and, as hls-parser's strict mode counts it, on no more than this many
// last segments, the one in progress (parts or a preload hint after the
// last EXTINF) included.
inline constexpr int kPartListingTargets = 3;
inline constexpr int kPartListingSegments = 3;

std::string render(const MediaPlaylist& p);

// Decimal text for a duration: at most `decimals` digits, trailing zeros
// trimmed ("6", "2.002", "0.33334"). round_up makes the text never smaller
// than the value (for limits such as PART-TARGET).
std::string format_decimal(double v, int decimals = 5, bool round_up = false);

}  // namespace sigma::hls

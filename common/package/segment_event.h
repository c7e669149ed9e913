#pragma once
// The segment.written event read back: the fields EventListener writes
// (event_listener.h), checked once for the tools that follow them
// (sigma-dvr's archiver, sigma-thumb), so both accept and refuse the same
// lines.
#include <cstdint>
#include <optional>
#include <string>

namespace sigma::package {

struct SegmentWritten {
  std::string channel, track;
  std::string path;  // as the packager saw it (maybe relative to its working directory)
  std::string uri;   // relative to the channel dir: "720p/seg-12.m4s"; "" for a gap
  std::string init;  // "720p/init.mp4", or ""
  int64_t msn = 0, pdt_ms = 0;
  int64_t duration_ms = -1;  // -1: the line had none
  bool independent = true, gap = false, discontinuity = false;
};

enum class EventLine {
  kSegment,    // a segment.written with what a reader needs: out is set
  kOther,      // an event of another type
  kNotJson,    // not a JSON object
  kMalformed,  // a segment.written without track, msn or pdt_ms, or with a
               // uri/init that is absolute or climbs out ("..")
};

EventLine parse_segment_written(const std::string& line, SegmentWritten& out);

// What a follower does with each line: the segment.written events of its
// channel ("" for any), the other event types passed over quietly, a line
// that is not JSON or a malformed segment.written counted and the first
// three of them warned about.
class SegmentEventReader {
 public:
  explicit SegmentEventReader(std::string channel) : channel_(std::move(channel)) {}
  std::optional<SegmentWritten> read(const std::string& line);
  int64_t ignored() const { return ignored_; }

 private:
  std::string channel_;
  int64_t ignored_ = 0;
};

// A path inside the channel dir: not empty, not absolute, no "..".
bool safe_relative(const std::string& p);

}  // namespace sigma::package

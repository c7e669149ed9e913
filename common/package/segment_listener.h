#pragma once
// What the segmenter reports, and to whom (Shaka's MuxerListener /
// OnNewSegment): the segmenter writes media files and knows nothing about
// playlists; the listener (HlsPublisher) owns the playlists. Every report
// names a file that already exists, complete, under its final name.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace sigma::package {

struct InitReport {
  size_t track = 0;
  std::string uri;     // relative to the track's directory ("init.mp4")
  std::string codecs;  // RFC 6381
  int width = 0, height = 0;
  int sample_rate = 0, channels = 0;
  bool reused = false;  // same bytes as the previous init: no new file
};

struct PartReport {
  size_t track = 0;
  int64_t msn = 0;
  int index = 0;  // within the segment
  double duration = 0;
  bool independent = false;
  std::string uri;
  size_t bytes = 0;
  // The segment ends with this part; on_segment follows at once, so the
  // listener may wait for it before publishing.
  bool last_in_segment = false;
  std::string map_uri;
  bool discontinuity = false;  // the segment starts after a discontinuity
  int64_t program_date_time_ms = 0;  // of the segment
};

struct SegmentReport {
  size_t track = 0;
  int64_t msn = 0;
  double duration = 0;
  std::string uri;
  std::string map_uri;
  size_t bytes = 0;
  int frames = 0;
  bool discontinuity = false;
  int64_t program_date_time_ms = 0;
  int parts = 0;  // part files written for it (ultra-low mode)
  // No file: the track had no media for this stretch while the others went
  // on (a rung the transcoder shed). Listed with EXT-X-GAP.
  bool gap = false;
  // Starts with a keyframe (audio always). Only false where a keyframe
  // interval longer than the target forced a cut between keyframes.
  bool independent = true;
};

class SegmentListener {
 public:
  virtual ~SegmentListener() = default;
  virtual Status on_init(const InitReport& r) = 0;
  virtual Status on_part(const PartReport& r) = 0;
  virtual Status on_segment(const SegmentReport& r) = 0;
  // The target duration (the longest any segment will last, rounded:
  // EXT-X-TARGETDURATION) became known, once for the segmenter's life and
  // before any report that depends on it (see Segmenter): what was held
  // back may be published now.
  virtual Status on_target_duration(int /*seconds*/) { return {}; }
  // The input stopped; what is open has been closed. final: no more media
  // will come (clean end or stop). Otherwise a discontinuity follows.
  virtual Status on_input_end(bool final) = 0;
};

}  // namespace sigma::package

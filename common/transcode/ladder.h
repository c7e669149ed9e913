#pragma once
// The ABR ladder: what the user asked for (RungSpec, from a preset or
// --ladder) and what it becomes once the source size is known (Rung):
// never larger than the source, source aspect kept, even dimensions.
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::transcode {

enum class LatencyMode { kNormal, kLow, kUltraLow };

Result<LatencyMode> parse_mode(const std::string& s);
const char* mode_name(LatencyMode m);
// Keyframe interval that divides every segment length the packager uses
// in this mode: 2 s for normal (4 s segments), 1 s for low (1 s segments)
// and ultra-low (2 s segments).
double default_keyframe_interval(LatencyMode m);

struct RungSpec {
  bool source = false;   // pass the input video through untouched
  int width = 0;         // bounding box; 0 = derive from the other side
  int height = 0;
  int64_t bitrate = 0;   // bits/s, target
  int64_t maxrate = 0;   // bits/s, VBV peak; 0 = derived from bitrate
  int64_t bufsize = 0;   // bits, VBV buffer; 0 = derived from maxrate
  bool half_fps = false; // encode every other frame
};

// "1280x720@3000k,854x480@1500k:maxrate=1600k:bufsize=3M:fps=half,source"
// Sizes are WxH or xH (height only); rates take k or M suffixes.
Result<std::vector<RungSpec>> parse_ladder(const std::string& text);
// Named presets: 1080p (1080/720/480/360/240), 720p (720/480/360/240),
// 480p (480/360/240), source+720p (source/720/480/360).
Result<std::vector<RungSpec>> preset_ladder(const std::string& name);
std::vector<std::string> preset_names();

struct Rung {
  bool source = false;
  int width = 0, height = 0;  // for the source rung: the input's size
  int box_width = 0, box_height = 0;  // the RungSpec's bounding box
  int64_t bitrate = 0, maxrate = 0, bufsize = 0;
  bool half_fps = false;
  std::string label() const;  // "1280x720@3000k" or "source"
};

struct ResolveOptions {
  int src_width = 0, src_height = 0;
  int sar_num = 1, sar_den = 1;  // source sample aspect ratio (0/x = square)
  int half_fps_at_or_below = 0;  // rungs this tall or smaller run at half rate
  LatencyMode mode = LatencyMode::kNormal;
};

// Fits every rung into the source's display aspect, drops rungs that would
// upscale (keeping the smallest, shrunk to the source, if none fits), drops
// duplicate sizes, and sorts largest first (the source rung leads).
Result<std::vector<Rung>> resolve_ladder(const std::vector<RungSpec>& specs, const ResolveOptions& o);

// The size a resolved rung takes when the source changes size mid-stream:
// its box fitted to the new source's aspect, and never larger than the
// source (a rung that would upscale is encoded at the source's size, so
// its stream, and the packager's variant, goes on). Bitrates stay.
Rung refit_rung(const Rung& r, const ResolveOptions& o);

// Parses "3000k", "3M", "800000" into bits per second.
Result<int64_t> parse_rate(const std::string& s);

}  // namespace sigma::transcode

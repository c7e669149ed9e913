#pragma once
// The packager's latency modes, header-only so that the supervisor (which
// does not link libav) plans windows with the same figures.
#include <string>

namespace sigma::package {

// A mode's default segment length, seconds (normal 4, low 1, ultra-low 2).
// hls.js, like Safari, starts three target durations behind the newest
// segment of a playlist that may be up to one target duration old, so the
// glass-to-glass latency of the non-LL modes is 3 to 4 segments: these
// lengths keep normal under 20 s and low under 6 s (bench/latency.sh).
inline double default_segment_duration(const std::string& mode) {
  return mode == "normal" ? 4 : mode == "low" ? 1 : 2;
}

}  // namespace sigma::package

#pragma once
// The multivariant ("master") playlist: one variant per video rendition,
// audio renditions in one group (RFC 8216bis 4.4.6).
#include <cstdint>
#include <string>
#include <vector>

namespace sigma::hls {

struct AudioRendition {
  std::string group_id = "audio";
  std::string name;   // NAME, e.g. "a0"
  std::string uri;    // media playlist
  std::string language;  // optional
  int channels = 0;   // CHANNELS; 0: omitted
  bool is_default = false;
};

struct Variant {
  std::string uri;
  int64_t bandwidth = 0;          // peak segment bit rate, bit/s, audio included
  int64_t average_bandwidth = 0;  // 0: omitted
  std::string codecs;             // "avc1.64001f,mp4a.40.2"
  int width = 0, height = 0;      // 0: no RESOLUTION
  double frame_rate = 0;          // 0: no FRAME-RATE
  std::string audio_group;        // empty: no AUDIO attribute
};

struct MasterPlaylist {
  int version = 7;
  bool independent_segments = true;
  std::vector<AudioRendition> audio;
  std::vector<Variant> variants;
};

std::string render(const MasterPlaylist& m);

}  // namespace sigma::hls

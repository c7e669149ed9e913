#pragma once
// Reading the fMP4 that sigma-package writes, box by box, without libav:
// an init segment's tracks (what a progressive MP4's trak copies) and the
// moof boxes of a media segment (every sample's size, duration, flags,
// composition offset and file offset). The export never touches sample
// data here; it only learns where the bytes are.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sigma::dvr::mp4 {

inline uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t be64(const uint8_t* p) { return uint64_t{be32(p)} << 32 | be32(p + 4); }

// A box inside a byte buffer: [begin, end) is the whole box, payload after
// the header (8 or 16 bytes).
struct Box {
  std::string_view type;
  size_t begin = 0, payload = 0, end = 0;
};
// The boxes directly inside [from, to) of data; stops at the first
// malformed one (ok is then false).
std::vector<Box> child_boxes(std::string_view data, size_t from, size_t to, bool* ok = nullptr);

struct InitTrack {
  uint32_t track_id = 0;
  std::string handler;     // "vide", "soun", ...
  uint32_t timescale = 0;  // mdhd
  std::string trak;        // the trak box, as in the init segment
  std::string stsd;        // its stsd box (what decides "the same codec")
  // trex defaults (mvex)
  uint32_t default_sdi = 1, default_duration = 0, default_size = 0, default_flags = 0;
};

struct Init {
  std::vector<InitTrack> tracks;
  const InitTrack* find(std::string_view handler) const;
  const InitTrack* by_id(uint32_t id) const;
};
Result<Init> parse_init(std::string_view bytes);

inline constexpr uint32_t kSampleNonSync = 0x10000;  // sample_is_non_sync_sample

struct Sample {
  uint64_t offset = 0;  // in the segment file
  uint32_t size = 0;
  uint32_t duration = 0;
  int32_t cto = 0;  // composition time offset
  bool sync = true;
};

// One track's samples in one segment file, in decode order.
struct Fragments {
  uint32_t track_id = 0;
  int64_t base_dts = 0;  // tfdt of its first traf
  std::vector<Sample> samples;
  int64_t duration() const;
};

// Reads every moof of a segment file (skipping mdat payloads) and returns
// the samples of each track of init found there.
Result<std::vector<Fragments>> read_fragments(const std::string& path, const Init& init);

}  // namespace sigma::dvr::mp4

#pragma once
// `sigma-thumb run` and `sigma-thumb at`: the live preview, the sprite
// sheets and the poster of a channel directory (files.h says what is
// written where). See sigma-thumb(1).
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::thumb {

struct RunParams {
  std::string dir;              // the channel directory (sigma-package -o)
  std::string channel;          // only this channel's events; "": any naming files of dir
  std::string events_in = "-";  // "-", FILE (followed from its end) or fd:N
  int64_t every_ms = 2000;      // latest*.jpg at most this often (media time)
  std::vector<int> widths{320};
  int64_t sprite_every_ms = 10000;
  int tile_w = 160, tile_h = 90, cols = 10, rows = 10;
  std::string events;           // NDJSON out
  int ready_fd = -1;
};
Status run_thumb(const RunParams& p);

struct AtParams {
  std::string dir;
  std::string time;  // as time_spec.h reads it
  int width = 640;
  std::string out;
};
Status run_at(const AtParams& p);

// The variants of master.m3u8 with their RESOLUTION (0 when absent).
struct Variant {
  std::string track;  // its directory: "720p"
  int width = 0, height = 0;
  int64_t bandwidth = 0;
};
std::vector<Variant> read_variants(const std::string& channel_dir);
// The cheapest variant to decode for pictures want_w wide: the narrowest
// at least that wide, else the widest; skip: tracks not to take. "" when
// none is left.
std::string choose_variant(const std::vector<Variant>& vs, int want_w, const std::vector<std::string>& skip = {});

}  // namespace sigma::thumb

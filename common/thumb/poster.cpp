// `sigma-thumb at`: one picture of the archive (or the live window) at a time.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <limits>
#include <optional>

#include "base/fs.h"
#include "base/time.h"
#include "base/time_spec.h"
#include "dvr/index.h"
#include "dvr/playlist_scan.h"
#include "thumb/engine.h"
#include "thumb/picture.h"

namespace sigma::thumb {

namespace {

struct Found {
  std::string uri, init;
  int64_t start_ms = 0;
  bool gap = false;
};

std::string iso(int64_t ms) {
  time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + "." + std::to_string(1000 + ms % 1000).substr(1) + "Z";
}

}  // namespace

Status run_at(const AtParams& p) {
  struct stat st {};
  if (::stat(p.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return usage_error("no channel directory " + p.dir);
  if (p.width < 16 || p.width > 7680 || p.width % 2) return usage_error("--width: an even number of pixels, 16 to 7680");
  SIGMA_ASSIGN_OR_RETURN(int64_t t, parse_time(p.time, unix_ms_now()));
  auto variants = read_variants(p.dir);
  std::string track = choose_variant(variants, p.width);
  if (track.empty()) return usage_error(p.dir + " is not a channel directory (no variant in master.m3u8)");

  std::optional<Found> found;
  std::string range;
  struct stat is {};
  if (::stat((p.dir + "/" + dvr::kIndexPath).c_str(), &is) == 0) {
    SIGMA_ASSIGN_OR_RETURN(auto ix, dvr::Index::open(p.dir, dvr::Index::Mode::kReadOnly));
    SIGMA_ASSIGN_OR_RETURN(auto rows, ix->segments(track, t, t + 1));
    for (const auto& r : rows)
      if (r.start_ms <= t && t < r.end_ms()) found = Found{r.uri, r.init, r.start_ms, r.gap};
    if (!found) {
      SIGMA_ASSIGN_OR_RETURN(auto span, ix->span());
      range = span ? "the archive holds " + iso(span->first) + " to " + iso(span->second) : "the archive is empty";
    }
  } else {
    auto pl = dvr::read_media_playlist(p.dir, track + "/index.m3u8");
    if (!pl.is_ok()) return usage_error(p.dir + ": no archive and no live playlist of " + track);
    for (const auto& l : pl->segments)
      if (l.pdt_ms && *l.pdt_ms <= t && t < *l.pdt_ms + l.duration_ms) found = Found{l.uri, l.init, *l.pdt_ms, l.gap};
    if (!found) {
      const auto& s = pl->segments;
      range = s.empty() || !s.front().pdt_ms ? "the live window is empty"
                                             : "the live window holds " + iso(*s.front().pdt_ms) + " to " +
                                                   iso(*s.back().pdt_ms + s.back().duration_ms);
    }
  }
  if (!found) return usage_error("time " + iso(t) + " is outside the archive of " + p.dir + " (" + range + ")");
  if (found->gap) return usage_error("time " + iso(t) + " falls in a gap of the archive of " + p.dir);

  SIGMA_ASSIGN_OR_RETURN(auto rd, SegmentReader::open(found->init.empty() ? "" : p.dir + "/" + found->init,
                                                      p.dir + "/" + found->uri));
  const auto& keys = rd->keyframes();
  if (keys.empty()) return data_error(found->uri + ": no keyframe");
  // The newest keyframe at or before t; else the segment's first.
  int pick = keys.front().index;
  for (const auto& k : keys)
    if (found->start_ms + k.offset_ms <= t) pick = k.index;
  SIGMA_ASSIGN_OR_RETURN(const AVFrame* f, rd->decode(pick));
  SIGMA_ASSIGN_OR_RETURN(std::string jpg, encode_jpeg(f, p.width, scaled_height(f, p.width)));
  Status w = write_file_atomic(p.out, jpg);
  if (!w.is_ok()) return system_error(w.message()).wrap("write " + p.out);
  spdlog::info("{}: the picture of {} (from {}, {})", p.out, iso(found->start_ms + keys[pick].offset_ms), found->uri, track);
  return {};
}

}  // namespace sigma::thumb

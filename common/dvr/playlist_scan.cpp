#include "dvr/playlist_scan.h"

#include <dirent.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include "base/fs.h"
#include "base/time_spec.h"

namespace sigma::dvr {
namespace {

std::string dir_of(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

std::string join(const std::string& base, const std::string& uri) {
  if (base.empty() || uri.empty() || uri[0] == '/' || uri.find("://") != std::string::npos) return uri;
  return base + "/" + uri;
}

bool starts(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Each non-empty line of a playlist, without its CR LF or LF.
template <class F>
void for_each_line(const std::string& s, F&& f) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? s.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) f(line);
  }
}

}  // namespace

// Walks the attribute list pair by pair, so that a NAME= inside a quoted
// value is never taken for the attribute.
std::string playlist_attribute(const std::string& line, const std::string& name) {
  size_t p = line.find(':');
  while (p != std::string::npos && p < line.size()) {
    size_t start = p + 1, eq = line.find('=', start);
    if (eq == std::string::npos) break;
    std::string key = line.substr(start, eq - start);
    std::string value;
    size_t next;
    if (eq + 1 < line.size() && line[eq + 1] == '"') {
      size_t close = line.find('"', eq + 2);
      if (close == std::string::npos) break;
      value = line.substr(eq + 2, close - eq - 2);
      next = line.find(',', close);
    } else {
      next = line.find(',', eq);
      value = line.substr(eq + 1, next == std::string::npos ? std::string::npos : next - eq - 1);
    }
    if (key == name) return value;
    p = next;
  }
  return "";
}

MasterListing parse_master_playlist(const std::string& s) {
  MasterListing out;
  // A URI names a track of this channel only when it is relative and
  // below it (not a dot directory).
  auto ref_of = [](const std::string& uri) -> std::optional<TrackRef> {
    if (uri.empty() || uri.find("://") != std::string::npos || uri[0] == '/') return std::nullopt;
    std::string track = dir_of(uri);
    if (track.empty() || track[0] == '.') return std::nullopt;
    return TrackRef{track, uri};
  };
  std::optional<std::string> variant_tag;  // the EXT-X-STREAM-INF whose URI line comes next
  for_each_line(s, [&](const std::string& line) {
    if (starts(line, "#EXT-X-STREAM-INF:")) {
      variant_tag = line;
    } else if (starts(line, "#EXT-X-MEDIA:")) {
      if (auto ref = ref_of(playlist_attribute(line, "URI")))
        out.renditions.push_back({*ref, playlist_attribute(line, "TYPE"), playlist_attribute(line, "GROUP-ID"),
                                  playlist_attribute(line, "DEFAULT") == "YES"});
    } else if (line[0] != '#') {
      if (variant_tag)
        if (auto ref = ref_of(line))
          out.variants.push_back({*ref, std::atoll(playlist_attribute(*variant_tag, "BANDWIDTH").c_str()),
                                  playlist_attribute(*variant_tag, "AUDIO")});
      variant_tag.reset();
    }
  });
  return out;
}

Result<MasterListing> read_master_playlist(const std::string& channel_dir) {
  auto text = read_file(channel_dir + "/master.m3u8");
  if (!text.is_ok()) return text.status().wrap("read the channel's master.m3u8");
  return parse_master_playlist(*text);
}

std::vector<TrackRef> master_tracks(const std::string& channel_dir) {
  std::vector<TrackRef> out;
  auto master = read_master_playlist(channel_dir);
  if (!master.is_ok()) return out;
  auto add = [&](const TrackRef& ref) {
    for (const auto& t : out)
      if (t.track == ref.track) return;
    out.push_back(ref);
  };
  // In the master's order: renditions come before the variants there.
  for (const auto& r : master->renditions) add(r.ref);
  for (const auto& v : master->variants) add(v.ref);
  return out;
}

MediaListing parse_media_playlist(const std::string& s, const std::string& base) {
  MediaListing out;
  int64_t msn = 0;
  std::string map;
  std::optional<int64_t> next_pdt;
  double extinf = -1;
  bool disc = false, gap = false;
  for_each_line(s, [&](const std::string& line) {
    if (starts(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      msn = std::strtoll(line.c_str() + 22, nullptr, 10);
    } else if (starts(line, "#EXT-X-MAP:")) {
      map = join(base, playlist_attribute(line, "URI"));
    } else if (starts(line, "#EXT-X-PROGRAM-DATE-TIME:")) {
      auto t = parse_time(line.substr(25), 0);
      if (t.is_ok()) next_pdt = *t;
    } else if (starts(line, "#EXTINF:")) {
      extinf = std::strtod(line.c_str() + 8, nullptr);
    } else if (line == "#EXT-X-DISCONTINUITY") {
      disc = true;
    } else if (line == "#EXT-X-GAP") {
      gap = true;
    } else if (line[0] != '#') {
      if (extinf >= 0) {
        ListedSegment seg;
        seg.msn = msn;
        seg.pdt_ms = next_pdt;
        seg.duration_ms = static_cast<int64_t>(std::llround(extinf * 1000));
        seg.uri = join(base, line);
        seg.init = map;
        seg.discontinuity = disc;
        seg.gap = gap;
        if (next_pdt) next_pdt = *next_pdt + seg.duration_ms;
        out.segments.push_back(std::move(seg));
      }
      ++msn;
      extinf = -1;
      disc = gap = false;
    }
  });
  out.last_init = map;
  return out;
}

Result<MediaListing> read_media_playlist(const std::string& channel_dir, const std::string& playlist_rel) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, read_file(channel_dir + "/" + playlist_rel));
  return parse_media_playlist(text, dir_of(playlist_rel));
}

std::optional<int64_t> segment_msn(const std::string& name) {
  constexpr const char* kExt = ".m4s";
  if (name.size() < 7 || name.compare(name.size() - 4, 4, kExt) != 0) return std::nullopt;
  size_t end = name.size() - 4;
  size_t dash = name.rfind('-', end);
  if (dash == std::string::npos || dash == 0 || dash + 1 >= end) return std::nullopt;
  int64_t v = 0;
  for (size_t i = dash + 1; i < end; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;  // "12.3": a part
    if (v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::vector<SegmentFile> segment_files(const std::string& track_dir) {
  std::vector<SegmentFile> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(track_dir.c_str()), closedir);
  if (!d) return out;
  while (dirent* e = readdir(d.get())) {
    std::string name = e->d_name;
    if (auto msn = segment_msn(name)) out.push_back({*msn, std::move(name)});
  }
  return out;
}

}  // namespace sigma::dvr

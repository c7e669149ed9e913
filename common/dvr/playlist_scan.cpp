#include "dvr/playlist_scan.h"

#include <dirent.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include "base/fs.h"
#include "dvr/time_spec.h"

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

// The value of NAME="..." (or NAME=token) in an attribute list.
std::string attribute(const std::string& line, const std::string& name) {
  size_t pos = 0;
  while ((pos = line.find(name + "=", pos)) != std::string::npos) {
    if (pos > 0 && line[pos - 1] != ':' && line[pos - 1] != ',') {
      pos += name.size();
      continue;
    }
    size_t v = pos + name.size() + 1;
    if (v < line.size() && line[v] == '"') {
      size_t end = line.find('"', v + 1);
      return line.substr(v + 1, end == std::string::npos ? std::string::npos : end - v - 1);
    }
    size_t end = line.find(',', v);
    return line.substr(v, end == std::string::npos ? std::string::npos : end - v);
  }
  return "";
}

bool starts(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

std::vector<TrackRef> master_tracks(const std::string& channel_dir) {
  std::vector<TrackRef> out;
  auto text = read_file(channel_dir + "/master.m3u8");
  if (!text.is_ok()) return out;
  auto add = [&](const std::string& uri) {
    if (uri.empty() || uri.find("://") != std::string::npos || uri[0] == '/') return;
    std::string track = dir_of(uri);
    if (track.empty() || track[0] == '.') return;
    for (const auto& t : out)
      if (t.track == track) return;
    out.push_back({track, uri});
  };
  bool next_is_variant = false;
  size_t pos = 0;
  const std::string& s = *text;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? s.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (starts(line, "#EXT-X-STREAM-INF")) {
      next_is_variant = true;
    } else if (starts(line, "#EXT-X-MEDIA:")) {
      add(attribute(line, "URI"));
    } else if (line[0] != '#') {
      if (next_is_variant) add(line);
      next_is_variant = false;
    }
  }
  return out;
}

MediaListing parse_media_playlist(const std::string& s, const std::string& base) {
  MediaListing out;
  int64_t msn = 0;
  std::string map;
  std::optional<int64_t> next_pdt;
  double extinf = -1;
  bool disc = false, gap = false;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? s.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (starts(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      msn = std::strtoll(line.c_str() + 22, nullptr, 10);
    } else if (starts(line, "#EXT-X-MAP:")) {
      map = join(base, attribute(line, "URI"));
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
  }
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

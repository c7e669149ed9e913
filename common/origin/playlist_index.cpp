#include "origin/playlist_index.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace sigma::origin {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The value of NAME in an attribute list (NAME=1,OTHER="x"), unquoted.
std::optional<std::string_view> attribute(std::string_view list, std::string_view name) {
  size_t i = 0;
  while (i < list.size()) {
    size_t eq = list.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = list.substr(i, eq - i);
    size_t v = eq + 1, end;
    std::string_view value;
    if (v < list.size() && list[v] == '"') {
      size_t close = list.find('"', v + 1);
      if (close == std::string_view::npos) return std::nullopt;
      value = list.substr(v + 1, close - v - 1);
      end = list.find(',', close);
    } else {
      end = list.find(',', v);
      value = list.substr(v, end == std::string_view::npos ? std::string_view::npos : end - v);
    }
    if (key == name) return value;
    if (end == std::string_view::npos) return std::nullopt;
    i = end + 1;
  }
  return std::nullopt;
}

double to_double(std::string_view s) {
  std::string tmp(s);
  return std::strtod(tmp.c_str(), nullptr);
}

int64_t to_int(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::optional<int64_t> parse_nonnegative(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// Tags that describe the whole playlist, before its first segment.
bool is_header_tag(std::string_view line) {
  static constexpr std::string_view kHeader[] = {
      "#EXTM3U", "#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE",
      "#EXT-X-DISCONTINUITY-SEQUENCE", "#EXT-X-PLAYLIST-TYPE", "#EXT-X-SERVER-CONTROL",
      "#EXT-X-PART-INF", "#EXT-X-INDEPENDENT-SEGMENTS", "#EXT-X-START", "#EXT-X-I-FRAMES-ONLY",
      "#EXT-X-DEFINE", "#EXT-X-ALLOW-CACHE"};
  for (auto t : kHeader)
    if (starts_with(line, t)) return true;
  return false;
}

}  // namespace

PlaylistIndex parse_playlist(std::string_view text) {
  PlaylistIndex p;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    p.lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  // A trailing newline leaves no empty last line; other blank lines stay.
  bool in_header = true;
  size_t block_start = 0;
  double duration = 0;
  for (size_t i = 0; i < p.lines.size(); ++i) {
    std::string_view l = p.lines[i];
    if (in_header && !l.empty() && !is_header_tag(l)) {
      in_header = false;
      p.header_end = i;
      block_start = i;
    }
    if (l.empty()) continue;
    if (l[0] != '#') {
      if (in_header) {  // a URI right after the header (e.g. no EXTINF): still a segment
        in_header = false;
        p.header_end = i;
        block_start = i;
      }
      p.segments.push_back({block_start, i, duration, p.pending_parts});
      block_start = i + 1;
      duration = 0;
      p.pending_parts = 0;
      continue;
    }
    if (starts_with(l, "#EXTINF:")) {
      duration = to_double(l.substr(8));
    } else if (starts_with(l, "#EXT-X-PART:")) {
      ++p.pending_parts;
    } else if (starts_with(l, "#EXT-X-STREAM-INF") || starts_with(l, "#EXT-X-MEDIA:")) {
      p.is_master = true;
    } else if (starts_with(l, "#EXT-X-TARGETDURATION:")) {
      p.target_duration = to_double(l.substr(22));
    } else if (starts_with(l, "#EXT-X-MEDIA-SEQUENCE:")) {
      p.media_sequence = to_int(l.substr(22));
    } else if (starts_with(l, "#EXT-X-VERSION:")) {
      p.version = static_cast<int>(to_int(l.substr(15)));
    } else if (starts_with(l, "#EXT-X-PART-INF:")) {
      if (auto v = attribute(l.substr(16), "PART-TARGET")) p.part_target = to_double(*v);
    } else if (starts_with(l, "#EXT-X-SERVER-CONTROL:")) {
      auto attrs = l.substr(22);
      p.can_block_reload = attribute(attrs, "CAN-BLOCK-RELOAD") == std::optional<std::string_view>("YES");
      if (auto v = attribute(attrs, "CAN-SKIP-UNTIL")) p.can_skip_until = to_double(*v);
      p.can_skip_dateranges = attribute(attrs, "CAN-SKIP-DATERANGES") == std::optional<std::string_view>("YES");
    } else if (starts_with(l, "#EXT-X-PRELOAD-HINT:")) {
      auto attrs = l.substr(20);
      auto type = attribute(attrs, "TYPE");
      auto uri = attribute(attrs, "URI");
      // A hint with BYTERANGE-START names a range of a growing file, which
      // is served as it is; only whole part files are held for.
      if (type && *type == "PART" && uri && !attribute(attrs, "BYTERANGE-START"))
        p.preload_parts.emplace_back(*uri);
    } else if (starts_with(l, "#EXT-X-ENDLIST")) {
      p.endlist = true;
    }
  }
  if (in_header) p.header_end = p.lines.size();
  p.next_msn = p.media_sequence + static_cast<int64_t>(p.segments.size());
  return p;
}

Result<BlockingQuery> parse_blocking_query(const std::map<std::string, std::string>& query) {
  BlockingQuery q;
  if (auto it = query.find("_HLS_msn"); it != query.end()) {
    q.msn = parse_nonnegative(it->second);
    if (!q.msn) return usage_error("_HLS_msn must be a non-negative integer");
  }
  if (auto it = query.find("_HLS_part"); it != query.end()) {
    q.part = parse_nonnegative(it->second);
    if (!q.part) return usage_error("_HLS_part must be a non-negative integer");
    if (!q.msn) return usage_error("_HLS_part without _HLS_msn");
  }
  if (auto it = query.find("_HLS_skip"); it != query.end()) {
    if (it->second == "YES")
      q.skip = BlockingQuery::Skip::kYes;
    else if (it->second == "v2")
      q.skip = BlockingQuery::Skip::kV2;
    else
      return usage_error("_HLS_skip must be YES or v2");
  }
  return q;
}

double advance_part_limit(double part_target) {
  return part_target > 0 && part_target < 1.0 ? 3.0 / part_target : 3.0;
}

Readiness readiness(const PlaylistIndex& p, const BlockingQuery& q) {
  if (!q.msn || p.is_master || p.endlist) return Readiness::kReady;
  int64_t m = *q.msn;
  // "greater than the Media Sequence Number of the last Media Segment in
  // the current Playlist plus two": the last complete one is next_msn - 1.
  if (m > p.next_msn + 1) return Readiness::kBadRequest;
  if (m < p.next_msn && !q.part) return Readiness::kReady;
  if (!q.part) return Readiness::kWait;
  int64_t part = *q.part;
  double limit = advance_part_limit(p.part_target);
  if (m < p.next_msn) {
    int64_t i = m - p.media_sequence;
    if (i < 0) return Readiness::kReady;  // long gone: answer with what there is
    // A part index past the segment's last part "MUST" be treated as part 0
    // of the following segment, unless it lies beyond the playlist's last
    // part by more than the Advance Part Limit: then it is the spec's 400.
    auto parts_of = [&](const PlaylistIndex::Segment& s) -> int64_t {
      if (s.parts > 0 || p.part_target <= 0) return s.parts;
      return std::max<int64_t>(1, std::llround(s.duration / p.part_target));  // no longer listed
    };
    int64_t own = parts_of(p.segments[static_cast<size_t>(i)]);
    if (part < own) return Readiness::kReady;
    int64_t existing = own + p.pending_parts;  // parts from segment m's first to the last one
    for (size_t j = static_cast<size_t>(i) + 1; j < p.segments.size(); ++j) existing += parts_of(p.segments[j]);
    if (static_cast<double>(part - (existing - 1)) > limit) return Readiness::kBadRequest;
    BlockingQuery next = q;
    next.msn = m + 1;
    next.part = 0;
    return readiness(p, next);
  }
  if (m == p.next_msn) {
    if (part < p.pending_parts) return Readiness::kReady;
    double last = static_cast<double>(p.pending_parts - 1);
    if (static_cast<double>(part) > last + limit) return Readiness::kBadRequest;
  }
  return Readiness::kWait;
}

std::optional<std::string> delta_playlist(const PlaylistIndex& p, bool v2) {
  if (p.can_skip_until <= 0 || p.segments.empty() || p.is_master) return std::nullopt;
  double total = 0;
  for (const auto& s : p.segments) total += s.duration;
  // A segment may be skipped when all of it lies at least CAN-SKIP-UNTIL
  // seconds before the end of the playlist.
  size_t skipped = 0;
  double end = 0;
  for (const auto& s : p.segments) {
    end += s.duration;
    if (total - end + 1e-9 < p.can_skip_until) break;
    ++skipped;
  }
  if (skipped == 0) return std::nullopt;
  std::string out;
  out.reserve(4096);
  for (size_t i = 0; i < p.header_end; ++i) {
    std::string_view l = p.lines[i];
    if (starts_with(l, "#EXT-X-VERSION:") && p.version < 9) {
      out += "#EXT-X-VERSION:9\n";  // EXT-X-SKIP needs version 9
      continue;
    }
    out.append(l);
    out += '\n';
  }
  out += "#EXT-X-SKIP:SKIPPED-SEGMENTS=" + std::to_string(skipped) + "\n";
  // The init section in force at the first kept segment, if it was declared
  // among the skipped ones, is restated so the delta stands on its own; and
  // without v2 the client expects the skipped date ranges to be kept.
  std::string_view map_line;
  std::vector<std::string_view> dateranges;
  size_t kept_first = p.segments[skipped].first_line;
  bool drop_dateranges = v2 && p.can_skip_dateranges;
  for (size_t i = p.header_end; i < kept_first; ++i) {
    std::string_view l = p.lines[i];
    if (starts_with(l, "#EXT-X-MAP:")) map_line = l;
    if (starts_with(l, "#EXT-X-DATERANGE:") && !drop_dateranges) dateranges.push_back(l);
  }
  for (auto d : dateranges) {
    out.append(d);
    out += '\n';
  }
  bool kept_has_map = false;
  for (size_t i = kept_first; i < p.segments[skipped].uri_line; ++i)
    if (starts_with(p.lines[i], "#EXT-X-MAP:")) kept_has_map = true;
  if (!map_line.empty() && !kept_has_map) {
    out.append(map_line);
    out += '\n';
  }
  for (size_t i = kept_first; i < p.lines.size(); ++i) {
    out.append(p.lines[i]);
    out += '\n';
  }
  return out;
}

}  // namespace sigma::origin

#include "origin/catchup.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "base/time_spec.h"
#include "base/time.h"

namespace sigma::origin {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    size_t j = s.find(sep, i);
    out.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

// Whole decimal seconds (at most 12 digits: no overflow, no sign).
std::optional<int64_t> seconds(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// Checks a range and clamps its end to now.
Result<CatchupRequest> finish_range(CatchupRequest r, int64_t now_ms) {
  if (r.from_ms > now_ms) return usage_error("the range starts in the future");
  if (r.to_ms <= r.from_ms) return usage_error("the range ends before it starts (or is empty)");
  if (r.to_ms - r.from_ms > kMaxCatchupMs)
    return usage_error("the range is longer than " + std::to_string(kMaxCatchupMs / 3600000) + " hours");
  r.to_ms = std::min(r.to_ms, now_ms);
  return r;
}

// "-" is how a form (www-form-urlencoded) writes nothing, but '+' in an
// ISO offset arrives as a space once the query is decoded.
std::string query_time(std::string v) {
  std::replace(v.begin(), v.end(), ' ', '+');
  return v;
}

std::string safe_filename(const std::string& s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') out += c;
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  if (out.size() > 120) out.resize(120);
  return out;
}

}  // namespace

std::optional<Result<CatchupRequest>> parse_catchup(const std::string& rel,
                                                    const std::map<std::string, std::string>& query,
                                                    int64_t now_ms) {
  auto parts = split(rel, '/');
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  for (const auto& p : parts)
    if (p.empty()) return std::nullopt;
  if (parts[0][0] == '_') return std::nullopt;  // the origin's own names
  const std::string& name = parts.back();
  CatchupRequest r;
  r.channel = parts[0];
  if (parts.size() == 3) {
    r.kind = CatchupRequest::Kind::kMedia;
    r.track = parts[1];
  }
  bool m3u8 = ends_with(name, ".m3u8"), mp4 = ends_with(name, ".mp4");

  if (name == "archive.json" && parts.size() == 2) {
    r.kind = CatchupRequest::Kind::kJson;
    return Result<CatchupRequest>(r);
  }
  if (name == "thumbnails.vtt") {
    r.kind = CatchupRequest::Kind::kThumbnails;
    if (parts.size() == 2) {
      if (!query.count("start") && !query.count("end")) {
        r.live_window = true;
        return Result<CatchupRequest>(r);
      }
      auto got = parse_catchup(parts[0] + "/master.m3u8", query, now_ms);  // the query form's rules
      if (got && *got) got->value().kind = CatchupRequest::Kind::kThumbnails;
      return got;
    }
    // /CH/RANGE/thumbnails.vtt: RANGE is what names a catch-up master.
    const std::string& range = parts[1];
    if (!starts_with(range, "archive-") && !starts_with(range, "timeshift_rel-")) return std::nullopt;
    auto got = parse_catchup(parts[0] + "/" + range + ".m3u8", {}, now_ms);
    if (!got) return std::nullopt;
    if (!*got) return got;
    got->value().kind = CatchupRequest::Kind::kThumbnails;
    got->value().track = range;
    return got;
  }
  if (starts_with(name, "archive-") && (m3u8 || (mp4 && parts.size() == 2))) {
    std::string_view mid(name);
    mid.remove_prefix(8);
    mid.remove_suffix(m3u8 ? 5 : 4);
    size_t dash = mid.find('-');
    if (dash == std::string_view::npos) return Result<CatchupRequest>(usage_error("expected archive-FROM-DURATION"));
    auto from = seconds(mid.substr(0, dash));
    std::string_view dur_s = mid.substr(dash + 1);
    if (!from) return Result<CatchupRequest>(usage_error("FROM must be Unix seconds"));
    r.from_ms = *from * 1000;
    if (dur_s == "now") {
      r.to_ms = now_ms;
    } else {
      auto dur = seconds(dur_s);
      if (!dur) return Result<CatchupRequest>(usage_error("DURATION must be seconds or now"));
      if (*dur == 0) return Result<CatchupRequest>(usage_error("DURATION must be more than 0"));
      if (*dur > kMaxCatchupMs / 1000)
        return Result<CatchupRequest>(usage_error("the range is longer than 24 hours"));
      r.to_ms = r.from_ms + *dur * 1000;
    }
    if (mp4) {
      r.kind = CatchupRequest::Kind::kMp4;
      if (auto it = query.find("variant"); it != query.end()) r.variant = it->second;
      auto fn = query.find("filename");
      auto dl = query.find("download");
      r.attachment = fn != query.end() || (dl != query.end() && dl->second != "0" && dl->second != "no");
      r.filename = fn != query.end() ? safe_filename(fn->second) : "";
      if (r.filename.empty()) r.filename = safe_filename(r.channel + "-" + name);
    }
    return finish_range(std::move(r), now_ms);
  }
  if (starts_with(name, "timeshift_rel-") && m3u8) {
    std::string_view mid(name);
    mid.remove_prefix(14);
    mid.remove_suffix(5);
    auto secs = seconds(mid);
    if (!secs || *secs == 0) return Result<CatchupRequest>(usage_error("timeshift_rel-SECONDS: SECONDS must be > 0"));
    if (*secs > kMaxCatchupMs / 1000) return Result<CatchupRequest>(usage_error("the range is longer than 24 hours"));
    r.from_ms = now_ms - *secs * 1000;
    r.to_ms = now_ms;
    return finish_range(std::move(r), now_ms);
  }
  if (m3u8 && (query.count("start") || query.count("end"))) {
    auto s = query.find("start");
    if (s == query.end()) return Result<CatchupRequest>(usage_error("end without start"));
    auto from = parse_time(query_time(s->second), now_ms);
    if (!from) return Result<CatchupRequest>(from.status().wrap("start"));
    r.from_ms = *from;
    r.to_ms = now_ms;
    if (auto e = query.find("end"); e != query.end()) {
      auto to = parse_time(query_time(e->second), now_ms);
      if (!to) return Result<CatchupRequest>(to.status().wrap("end"));
      r.to_ms = *to;
    }
    r.query_form = true;
    return finish_range(std::move(r), now_ms);
  }
  return std::nullopt;
}

std::vector<dvr::SegmentRow> select_segments(const std::vector<dvr::SegmentRow>& rows, int64_t from_ms,
                                             int64_t to_ms) {
  std::vector<dvr::SegmentRow> out;
  for (const auto& r : rows) {
    int64_t mid = r.start_ms + r.duration_ms / 2;
    if (mid >= from_ms && mid < to_ms) out.push_back(r);
  }
  if (out.empty()) {
    for (const auto& r : rows)
      if (r.start_ms <= from_ms && r.end_ms() > from_ms) return {r};
  }
  return out;
}

std::vector<dvr::SegmentRow> select_aligned(const std::vector<dvr::SegmentRow>& reference,
                                            const std::vector<dvr::SegmentRow>& rows, int64_t from_ms,
                                            int64_t to_ms) {
  auto ref = select_segments(reference, from_ms, to_ms);
  if (ref.empty()) return select_segments(rows, from_ms, to_ms);
  int64_t lo = ref.front().msn, hi = ref.back().msn;
  std::vector<dvr::SegmentRow> out;
  for (const auto& r : rows)
    if (r.msn >= lo && r.msn <= hi) out.push_back(r);
  return out;
}

std::string relative_to(const std::string& uri, const std::string& dir) {
  if (!dir.empty() && uri.size() > dir.size() && uri.compare(0, dir.size(), dir) == 0 && uri[dir.size()] == '/')
    return uri.substr(dir.size() + 1);
  return dir.empty() ? uri : "../" + uri;
}

namespace {

// Milliseconds as the playlist writer prints seconds: "4", "2.002", "1.5".
void put_ms(std::string& out, int64_t ms) {
  out += std::to_string(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac == 0) return;
  char buf[5] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                 static_cast<char>('0' + frac % 10), 0};
  size_t n = 4;
  while (buf[n - 1] == '0') --n;
  out.append(buf, n);
}

}  // namespace

// Written here rather than through hls::MediaPlaylist: a day's playlist is
// 21,600 segments or more per track, and this is the origin's hot path
// (the text is the same as hls::render's for these tags; the unit test's
// golden string holds both to it).
std::string vod_playlist(const std::vector<dvr::SegmentRow>& rows, const std::string& track) {
  int64_t longest = 0;
  bool gaps = false, all_independent = true;
  for (const auto& r : rows) {
    longest = std::max(longest, r.duration_ms);
    gaps = gaps || r.gap;
    all_independent = all_independent && (r.independent || r.gap);
  }
  // EXTINF rounded must not pass the target: the longest rounded up (a
  // millisecond of float noise aside).
  int target = std::max<int>(1, static_cast<int>(std::ceil(static_cast<double>(longest) / 1000.0 - 1e-3)));
  std::string out;
  out.reserve(192 + rows.size() * (32 + (rows.empty() ? 0 : rows.front().uri.size())));
  out += "#EXTM3U\n#EXT-X-VERSION:";
  out += gaps ? "8" : "7";
  out += "\n#EXT-X-TARGETDURATION:" + std::to_string(target) + "\n#EXT-X-PLAYLIST-TYPE:VOD\n";
  if (all_independent) out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  out += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(rows.empty() ? 0 : rows.front().msn) + "\n";
  const dvr::SegmentRow* prev = nullptr;
  std::string map, uri;
  for (const auto& r : rows) {
    // A break of the source, a hole in the archive (retention, a segment
    // never written) or a jump in the sequence: timestamps do not follow.
    bool disc = prev && (r.discontinuity || r.msn != prev->msn + 1 ||
                         std::llabs(r.start_ms - prev->end_ms()) > dvr::kHoleMs);
    if (disc) out += "#EXT-X-DISCONTINUITY\n";
    if (!r.init.empty() && (!prev || prev->init != r.init)) {
      map = relative_to(r.init, track);
      out += "#EXT-X-MAP:URI=\"" + map + "\"\n";
    }
    if (!prev || disc) out += "#EXT-X-PROGRAM-DATE-TIME:" + iso8601_utc(r.start_ms) + "\n";
    if (r.gap) out += "#EXT-X-GAP\n";
    out += "#EXTINF:";
    put_ms(out, r.duration_ms);
    out += ",\n";
    if (r.uri.empty()) {
      out += "gap-" + std::to_string(r.msn) + ".m4s";
    } else if (r.uri.size() > track.size() && r.uri.compare(0, track.size(), track) == 0 && r.uri[track.size()] == '/') {
      out.append(r.uri, track.size() + 1, std::string::npos);
    } else {
      out += relative_to(r.uri, track);
    }
    out += '\n';
    prev = &r;
  }
  out += "#EXT-X-ENDLIST\n";
  return out;
}

std::string catchup_master(std::string_view live_master, int64_t from_ms, int64_t to_ms, bool query_form) {
  int64_t from_s = from_ms / 1000;
  int64_t to_s = (to_ms + 999) / 1000;
  auto rewrite = [&](std::string_view uri) -> std::string {
    std::string u(uri.substr(0, uri.find('?')));
    if (query_form) return u + "?start=" + std::to_string(from_s) + "&end=" + std::to_string(to_s);
    auto slash = u.rfind('/');
    std::string dir = slash == std::string::npos ? "" : u.substr(0, slash + 1);
    return dir + "archive-" + std::to_string(from_s) + "-" + std::to_string(std::max<int64_t>(1, to_s - from_s)) +
           ".m3u8";
  };
  std::string out;
  out.reserve(live_master.size() + 256);
  size_t pos = 0;
  while (pos < live_master.size()) {
    size_t nl = live_master.find('\n', pos);
    std::string_view line = live_master.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? live_master.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && line[0] != '#') {
      out += rewrite(line);
    } else if (starts_with(line, "#EXT-X-I-FRAME-STREAM-INF:")) {
      continue;  // no I-frame playlists in the archive
    } else if (starts_with(line, "#EXT-X-MEDIA:")) {
      size_t u = line.find("URI=\"");
      size_t close = u == std::string_view::npos ? u : line.find('"', u + 5);
      if (close == std::string_view::npos) {
        out.append(line);
      } else {
        out.append(line.substr(0, u + 5));
        out += rewrite(line.substr(u + 5, close - u - 5));
        out.append(line.substr(close));
      }
    } else {
      out.append(line);
    }
    out += '\n';
  }
  return out;
}

}  // namespace sigma::origin

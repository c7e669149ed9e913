#include "transcode/ladder.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>
#include <utility>

namespace sigma::transcode {

Result<LatencyMode> parse_mode(const std::string& s) {
  if (s == "normal") return LatencyMode::kNormal;
  if (s == "low") return LatencyMode::kLow;
  if (s == "ultra-low") return LatencyMode::kUltraLow;
  return usage_error("unknown mode '" + s + "' (normal, low, ultra-low)");
}

const char* mode_name(LatencyMode m) {
  switch (m) {
    case LatencyMode::kNormal: return "normal";
    case LatencyMode::kLow: return "low";
    case LatencyMode::kUltraLow: return "ultra-low";
  }
  return "?";
}

double default_keyframe_interval(LatencyMode m) { return m == LatencyMode::kNormal ? 2.0 : 1.0; }

Result<int64_t> parse_rate(const std::string& s) {
  if (s.empty()) return usage_error("empty rate");
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string suffix(end);
  double mult = 1;
  if (suffix == "k" || suffix == "K") mult = 1e3;
  else if (suffix == "m" || suffix == "M") mult = 1e6;
  else if (!suffix.empty()) return usage_error("bad rate '" + s + "' (e.g. 3000k, 3M)");
  if (!(v > 0) || end == s.c_str()) return usage_error("bad rate '" + s + "' (must be > 0)");
  double bits = v * mult;
  if (bits < 10e3 || bits > 500e6) return usage_error("rate '" + s + "' out of range (10k..500M)");
  return static_cast<int64_t>(std::llround(bits));
}

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

Result<int> parse_dim(const std::string& s, const std::string& rung) {
  if (s.empty()) return 0;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (*end || v < 16 || v > 8192) return usage_error("rung '" + rung + "': bad dimension '" + s + "' (16..8192)");
  return static_cast<int>(v);
}

RungSpec rung(int w, int h, int64_t kbps);
const std::vector<RungSpec>& standard_rungs();

Result<RungSpec> parse_rung(const std::string& text) {
  RungSpec r;
  auto parts = split(text, ':');
  const std::string& head = parts[0];
  if (head.size() > 1 && head.back() == 'p' && head.find_first_not_of("0123456789") == head.size() - 1) {
    // "720p": the standard rung of that height, options may follow.
    int h = std::atoi(head.c_str());
    bool found = false;
    for (const auto& s : standard_rungs())
      if (s.height == h) {
        r = s;
        found = true;
      }
    if (!found) return usage_error("rung '" + text + "': no standard rung " + head + " (1080p, 720p, 480p, 360p, 240p)");
    parts[0] = std::to_string(r.width) + "x" + std::to_string(r.height) + "@" + std::to_string(r.bitrate / 1000) + "k";
    std::string rebuilt;
    for (const auto& p : parts) rebuilt += (rebuilt.empty() ? "" : ":") + p;
    return parse_rung(rebuilt);
  }
  if (head == "source") {
    r.source = true;
    if (parts.size() > 1) return usage_error("rung 'source' takes no options");
    return r;
  }
  auto at = head.find('@');
  if (at == std::string::npos) return usage_error("rung '" + text + "': expected WxH@BITRATE (e.g. 1280x720@3000k)");
  std::string size = head.substr(0, at);
  auto x = size.find('x');
  if (x == std::string::npos) return usage_error("rung '" + text + "': size must be WxH or xH");
  SIGMA_ASSIGN_OR_RETURN(r.width, parse_dim(size.substr(0, x), text));
  SIGMA_ASSIGN_OR_RETURN(r.height, parse_dim(size.substr(x + 1), text));
  if (r.height == 0) return usage_error("rung '" + text + "': height is required");
  auto bitrate = parse_rate(head.substr(at + 1));
  if (!bitrate) return bitrate.status().wrap("rung '" + text + "'");
  r.bitrate = *bitrate;
  for (size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    std::string key = parts[i].substr(0, eq);
    std::string val = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    if (key == "maxrate" || key == "bufsize") {
      auto v = parse_rate(val);
      if (!v) return v.status().wrap("rung '" + text + "' " + key);
      (key == "maxrate" ? r.maxrate : r.bufsize) = *v;
    } else if (key == "fps" && val == "half") {
      r.half_fps = true;
    } else if (key == "fps" && val == "full") {
      r.half_fps = false;
    } else {
      return usage_error("rung '" + text + "': unknown option '" + parts[i] +
                         "' (maxrate=RATE, bufsize=SIZE, fps=half|full)");
    }
  }
  if (r.maxrate && r.maxrate < r.bitrate) return usage_error("rung '" + text + "': maxrate below bitrate");
  return r;
}

RungSpec rung(int w, int h, int64_t kbps) {
  RungSpec r;
  r.width = w;
  r.height = h;
  r.bitrate = kbps * 1000;
  return r;
}

const std::vector<RungSpec>& standard_rungs() {
  // Bitrates in line with Apple's HLS authoring guide for H.264 at 30 fps.
  static const std::vector<RungSpec> rungs = {rung(1920, 1080, 6000), rung(1280, 720, 3000), rung(854, 480, 1500),
                                              rung(640, 360, 800), rung(426, 240, 400)};
  return rungs;
}

int even(double v) { return std::max(2, static_cast<int>(std::lround(v / 2)) * 2); }

}  // namespace

Result<std::vector<RungSpec>> parse_ladder(const std::string& text) {
  std::vector<RungSpec> out;
  for (const auto& item : split(text, ',')) {
    if (item.empty()) return usage_error("ladder '" + text + "': empty rung");
    SIGMA_ASSIGN_OR_RETURN(auto r, parse_rung(item));
    out.push_back(r);
  }
  if (out.empty()) return usage_error("empty ladder");
  if (out.size() > 8) return usage_error("ladder has " + std::to_string(out.size()) + " rungs (at most 8)");
  return out;
}

std::vector<std::string> preset_names() { return {"1080p", "720p", "480p", "source+720p"}; }

Result<std::vector<RungSpec>> preset_ladder(const std::string& name) {
  const std::vector<RungSpec>& full = standard_rungs();
  if (name == "1080p") return full;
  if (name == "720p") return std::vector<RungSpec>(full.begin() + 1, full.end());
  if (name == "480p") return std::vector<RungSpec>(full.begin() + 2, full.end());
  if (name == "source+720p") {
    std::vector<RungSpec> v{RungSpec{}};
    v[0].source = true;
    v.insert(v.end(), full.begin() + 1, full.end() - 1);
    return v;
  }
  std::string names;
  for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
  return usage_error("unknown preset '" + name + "' (" + names + ")");
}

std::string Rung::label() const {
  if (source) return "source";
  return std::to_string(width) + "x" + std::to_string(height) + "@" + std::to_string(bitrate / 1000) + "k";
}

namespace {

struct SourceShape {
  double dar;     // display aspect ratio
  double disp_w;  // display width in square pixels
};

SourceShape shape_of(const ResolveOptions& o) {
  double sar = (o.sar_num > 0 && o.sar_den > 0) ? double(o.sar_num) / o.sar_den : 1.0;
  return {o.src_width * sar / o.src_height, o.src_width * sar};
}

// Fits a WxH box (w 0: any width) at the source's display aspect.
void fit_box(Rung& r, int box_w, int box_h, double dar) {
  double h = box_h, w = h * dar;
  if (box_w > 0 && w > box_w + 1) {
    w = box_w;
    h = w / dar;
  }
  r.width = even(w);
  r.height = even(h);
}

// The source's own size in square pixels, even.
void fit_source(Rung& r, const ResolveOptions& o, const SourceShape& sh) {
  r.height = std::max(2, o.src_height / 2 * 2);
  r.width = std::min(even(r.height * sh.dar), std::max(2, int(sh.disp_w) / 2 * 2));
}

bool larger_than_source(const Rung& r, const ResolveOptions& o, const SourceShape& sh) {
  return r.height > o.src_height || r.width > sh.disp_w + 1;
}

}  // namespace

Rung refit_rung(const Rung& r, const ResolveOptions& o) {
  Rung out = r;
  if (r.source || o.src_width <= 0 || o.src_height <= 0) return out;
  SourceShape sh = shape_of(o);
  fit_box(out, r.box_width, r.box_height, sh.dar);
  if (larger_than_source(out, o, sh)) fit_source(out, o, sh);
  return out;
}

Result<std::vector<Rung>> resolve_ladder(const std::vector<RungSpec>& specs, const ResolveOptions& o) {
  if (o.src_width <= 0 || o.src_height <= 0) return data_error("input video has no size");
  SourceShape sh = shape_of(o);
  std::vector<Rung> out, too_big;
  for (const auto& s : specs) {
    Rung r;
    r.source = s.source;
    r.half_fps = s.half_fps;
    if (s.source) {
      r.width = o.src_width;
      r.height = o.src_height;
      out.push_back(r);
      continue;
    }
    r.box_width = s.width;
    r.box_height = s.height;
    fit_box(r, s.width, s.height, sh.dar);
    r.bitrate = s.bitrate;
    r.maxrate = s.maxrate ? s.maxrate : s.bitrate * 11 / 10;
    // VBV window: 2 s at the target rate keeps segments near it; ultra-low
    // takes 1 s so the encoder never banks bits across a part boundary.
    r.bufsize = s.bufsize ? s.bufsize : (o.mode == LatencyMode::kUltraLow ? s.bitrate : 2 * s.bitrate);
    if (o.half_fps_at_or_below > 0 && r.height <= o.half_fps_at_or_below) r.half_fps = true;
    if (larger_than_source(r, o, sh)) too_big.push_back(r);
    else out.push_back(r);
  }
  bool have_encoded = std::any_of(out.begin(), out.end(), [](const Rung& r) { return !r.source; });
  if (!have_encoded && !too_big.empty()) {
    // Nothing fits under the source: keep the smallest rung at source size.
    auto smallest = std::min_element(too_big.begin(), too_big.end(),
                                     [](const Rung& a, const Rung& b) { return a.height < b.height; });
    Rung r = *smallest;
    fit_source(r, o, sh);
    out.push_back(r);
  }
  std::stable_sort(out.begin(), out.end(), [](const Rung& a, const Rung& b) {
    if (a.source != b.source) return a.source;
    return a.height * int64_t(a.width) > b.height * int64_t(b.width);
  });
  std::vector<Rung> unique;
  std::set<std::pair<int, int>> seen;
  bool have_source = false;
  for (const auto& r : out) {
    if (r.source) {
      if (have_source) continue;
      have_source = true;
      unique.push_back(r);
      continue;
    }
    if (!seen.insert({r.width, r.height}).second) continue;
    unique.push_back(r);
  }
  if (unique.empty()) return usage_error("ladder is empty after fitting it to the source");
  return unique;
}

}  // namespace sigma::transcode

#include <algorithm>
#include <sstream>

#include "base/fs.h"
#include "dvr/playlist_scan.h"
#include "thumb/engine.h"

namespace sigma::thumb {

std::vector<Variant> read_variants(const std::string& channel_dir) {
  std::vector<Variant> out;
  auto text = read_file(channel_dir + "/master.m3u8");
  if (!text.is_ok()) return out;
  std::istringstream in(*text);
  std::string line;
  bool pending = false;
  Variant v;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("#EXT-X-STREAM-INF:", 0) == 0) {
      v = Variant{};
      std::string res = dvr::playlist_attribute(line, "RESOLUTION");
      if (size_t x = res.find('x'); x != std::string::npos) {
        v.width = std::atoi(res.substr(0, x).c_str());
        v.height = std::atoi(res.substr(x + 1).c_str());
      }
      v.bandwidth = std::atoll(dvr::playlist_attribute(line, "BANDWIDTH").c_str());
      pending = true;
    } else if (pending && !line.empty() && line[0] != '#') {
      size_t slash = line.rfind('/');
      v.track = slash == std::string::npos ? "" : line.substr(0, slash);
      if (!v.track.empty() && v.track.find("..") == std::string::npos && v.track[0] != '/') out.push_back(v);
      pending = false;
    }
  }
  return out;
}

std::string choose_variant(const std::vector<Variant>& vs, int want_w, const std::vector<std::string>& skip) {
  const Variant* best = nullptr;   // narrowest >= want_w
  const Variant* widest = nullptr;
  for (const auto& v : vs) {
    if (std::find(skip.begin(), skip.end(), v.track) != skip.end()) continue;
    // No RESOLUTION: order by BANDWIDTH instead, as the widest guess.
    auto w = [](const Variant& x) { return x.width > 0 ? int64_t(x.width) : x.bandwidth / 1000; };
    if (v.width >= want_w && (!best || w(v) < w(*best))) best = &v;
    if (!widest || w(v) > w(*widest)) widest = &v;
  }
  if (best) return best->track;
  return widest ? widest->track : "";
}

}  // namespace sigma::thumb

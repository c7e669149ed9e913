#include "hls/master_playlist.h"

#include <cstdio>

namespace sigma::hls {

std::string render(const MasterPlaylist& m) {
  std::string out = "#EXTM3U\n#EXT-X-VERSION:" + std::to_string(m.version) + '\n';
  if (m.independent_segments) out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const AudioRendition& a : m.audio) {
    out += "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"" + a.group_id + "\",NAME=\"" + a.name + "\"";
    if (!a.language.empty()) out += ",LANGUAGE=\"" + a.language + "\"";
    out += std::string(",DEFAULT=") + (a.is_default ? "YES" : "NO");
    out += std::string(",AUTOSELECT=") + (a.is_default ? "YES" : "NO");
    if (a.channels > 0) out += ",CHANNELS=\"" + std::to_string(a.channels) + "\"";
    out += ",URI=\"" + a.uri + "\"\n";
  }
  for (const Variant& v : m.variants) {
    out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(v.bandwidth);
    if (v.average_bandwidth > 0) out += ",AVERAGE-BANDWIDTH=" + std::to_string(v.average_bandwidth);
    if (!v.codecs.empty()) out += ",CODECS=\"" + v.codecs + "\"";
    if (v.width > 0 && v.height > 0)
      out += ",RESOLUTION=" + std::to_string(v.width) + "x" + std::to_string(v.height);
    if (v.frame_rate > 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", v.frame_rate);
      out += std::string(",FRAME-RATE=") + buf;
    }
    if (!v.audio_group.empty()) out += ",AUDIO=\"" + v.audio_group + "\"";
    out += '\n' + v.uri + '\n';
  }
  return out;
}

}  // namespace sigma::hls

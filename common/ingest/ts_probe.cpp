#include "ingest/ts_probe.h"

namespace sigma::ingest {

namespace {

const char* stream_type_name(uint8_t t, bool& video) {
  video = false;
  switch (t) {
    case 0x01: video = true; return "mpeg1video";
    case 0x02: video = true; return "mpeg2video";
    case 0x10: video = true; return "mpeg4";
    case 0x1b: video = true; return "h264";
    case 0x24: video = true; return "hevc";
    case 0x03:
    case 0x04: return "mp3";
    case 0x0f: return "aac";
    case 0x11: return "aac_latm";
    case 0x81: return "ac3";
    case 0x87: return "eac3";
    default: return nullptr;
  }
}

}  // namespace

bool TsProbe::feed(const uint8_t* d, size_t n) {
  for (size_t off = 0; !done_ && off + 188 <= n; off += 188) {
    const uint8_t* p = d + off;
    if (p[0] != 0x47 || !(p[1] & 0x40)) continue;  // only section starts
    int pid = (p[1] & 0x1F) << 8 | p[2];
    if (pid != 0 && pid != pmt_pid_) continue;
    size_t pos = 4;
    if (p[3] & 0x20) pos += 1 + size_t(p[4]);  // adaptation field
    if (!(p[3] & 0x10) || pos >= 188) continue;
    pos += 1 + size_t(p[pos]);  // pointer field
    if (pos + 3 > 188) continue;
    section(pid, p + pos, 188 - pos);
  }
  return done_;
}

void TsProbe::section(int pid, const uint8_t* s, size_t n) {
  size_t len = size_t(s[1] & 0x0F) << 8 | s[2];
  // Sections spanning packets are rare for PAT/PMT; skip them.
  if (len < 9 || 3 + len > n) return;
  size_t end = 3 + len - 4;  // before the CRC
  if (pid == 0 && s[0] == 0x00) {
    for (size_t i = 8; i + 4 <= end; i += 4) {
      int program = s[i] << 8 | s[i + 1];
      if (program != 0) {
        pmt_pid_ = (s[i + 2] & 0x1F) << 8 | s[i + 3];
        return;
      }
    }
    return;
  }
  if (pid != pmt_pid_ || s[0] != 0x02 || end < 12) return;
  size_t info_len = size_t(s[10] & 0x0F) << 8 | s[11];
  int streams = 0;
  for (size_t i = 12 + info_len; i + 5 <= end;) {
    bool video;
    const char* name = stream_type_name(s[i], video);
    size_t es_len = size_t(s[i + 3] & 0x0F) << 8 | s[i + 4];
    ++streams;
    const char* key = video ? "video" : "audio";
    if (name && !info_.contains(key)) info_[key] = name;
    i += 5 + es_len;
  }
  info_["streams"] = streams;
  done_ = true;
}

}  // namespace sigma::ingest

#include "hls/codec_string.h"

#include <cstdint>
#include <cstdio>

namespace sigma::hls {
namespace {

// Finds a box by type anywhere in the buffer and returns its payload. The
// sample entry boxes sit deep in moov/trak/mdia/minf/stbl/stsd; a scan for
// the four-character code, checked against the size field, is enough for
// the small init segments this reads.
std::string_view find_box(std::string_view buf, const char* type) {
  for (size_t pos = 4; pos + 4 <= buf.size(); ++pos) {
    if (buf.compare(pos, 4, type) != 0) continue;
    auto b = reinterpret_cast<const uint8_t*>(buf.data()) + pos - 4;
    uint32_t size = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
    if (size < 8 || pos - 4 + size > buf.size()) continue;
    return buf.substr(pos + 4, size - 8);
  }
  return {};
}

uint8_t u8(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }

std::string hex(unsigned v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*X", width, v);
  return buf;
}

std::string avc(std::string_view avcc) {
  if (avcc.size() < 4) return {};
  return "avc1." + hex(u8(avcc, 1), 2) + hex(u8(avcc, 2), 2) + hex(u8(avcc, 3), 2);
}

// ISO/IEC 14496-15 annex E: hvc1.[space]profile.compat(reversed).tier+level.constraints
std::string hevc(std::string_view tag, std::string_view hvcc) {
  if (hvcc.size() < 13) return {};
  uint8_t b1 = u8(hvcc, 1);
  int space = b1 >> 6, tier = (b1 >> 5) & 1, profile = b1 & 0x1f;
  uint32_t compat = 0;
  for (int i = 0; i < 4; ++i) compat = (compat << 8) | u8(hvcc, 2 + i);
  uint32_t reversed = 0;
  for (int i = 0; i < 32; ++i)
    if (compat & (1u << i)) reversed |= 1u << (31 - i);
  std::string s = std::string(tag) + ".";
  if (space > 0) s += static_cast<char>('A' + space - 1);
  s += std::to_string(profile) + ".";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%X", reversed);
  s += buf;
  s += std::string(".") + (tier ? "H" : "L") + std::to_string(u8(hvcc, 12));
  int last = -1;  // trailing zero constraint bytes are omitted
  for (int i = 0; i < 6; ++i)
    if (u8(hvcc, 6 + i)) last = i;
  for (int i = 0; i <= last; ++i) {
    std::snprintf(buf, sizeof buf, ".%X", u8(hvcc, 6 + i));
    s += buf;
  }
  return s;
}

// esds (ISO/IEC 14496-1 descriptors): ES_Descriptor(3) > DecoderConfig(4)
// > DecoderSpecificInfo(5) = AudioSpecificConfig, whose first five bits are
// the audio object type.
bool read_descriptor(std::string_view d, size_t& pos, uint8_t tag, size_t& len) {
  if (pos >= d.size() || u8(d, pos) != tag) return false;
  ++pos;
  len = 0;
  for (int n = 0; n < 4 && pos < d.size(); ++n) {
    uint8_t c = u8(d, pos++);
    len = (len << 7) | (c & 0x7f);
    if (!(c & 0x80)) break;
  }
  return pos + len <= d.size();
}

std::string aac(std::string_view esds) {
  const std::string lc = "mp4a.40.2";  // what an ADTS stream without an ASC carries
  size_t pos = 4, len = 0;  // after version and flags
  if (!read_descriptor(esds, pos, 3, len) || pos + 3 > esds.size()) return lc;
  uint8_t flags = u8(esds, pos + 2);
  pos += 3;
  if (flags & 0x80) pos += 2;
  if ((flags & 0x40) && pos < esds.size()) pos += 1 + u8(esds, pos);
  if (flags & 0x20) pos += 2;
  if (!read_descriptor(esds, pos, 4, len)) return lc;
  pos += 13;
  if (!read_descriptor(esds, pos, 5, len) || len < 1) return lc;
  int aot = u8(esds, pos) >> 3;
  if (aot == 31 && len >= 2) aot = 32 + (((u8(esds, pos) & 7) << 3) | (u8(esds, pos + 1) >> 5));
  return "mp4a.40." + std::to_string(aot);
}

}  // namespace

Result<std::string> codec_string_from_init(std::string_view init) {
  std::string video, audio;
  if (auto b = find_box(init, "avcC"); !b.empty()) video = avc(b);
  if (auto b = find_box(init, "hvcC"); video.empty() && !b.empty()) {
    bool hev1 = !find_box(init, "hev1").empty();
    video = hevc(hev1 ? "hev1" : "hvc1", b);
  }
  if (auto b = find_box(init, "esds"); !b.empty()) audio = aac(b);
  // The sample entry is Opus, the MSE/RFC 6381 name is lowercase.
  else if (!find_box(init, "dOps").empty()) audio = "opus";
  if (video.empty() && audio.empty())
    return data_error("init segment has no avcC, hvcC, esds or dOps sample description");
  if (video.empty() || audio.empty()) return video + audio;
  return video + "," + audio;  // a variant with its audio muxed in
}

}  // namespace sigma::hls

#include "rtmp/flv.h"

namespace sigma::rtmp {

const char* codec_name(VideoCodec c) {
  switch (c) {
    case VideoCodec::kH264: return "h264";
    case VideoCodec::kHevc: return "hevc";
    case VideoCodec::kAv1: return "av1";
    default: return "none";
  }
}

const char* codec_name(AudioCodec c) {
  switch (c) {
    case AudioCodec::kAac: return "aac";
    case AudioCodec::kMp3: return "mp3";
    default: return "none";
  }
}

namespace {

int32_t si24(const uint8_t* p) {
  int32_t v = int32_t(p[0]) << 16 | int32_t(p[1]) << 8 | p[2];
  return v & 0x800000 ? v - 0x1000000 : v;
}

constexpr uint32_t fourcc(char a, char b, char c, char d) {
  return uint32_t(uint8_t(a)) << 24 | uint32_t(uint8_t(b)) << 16 | uint32_t(uint8_t(c)) << 8 | uint8_t(d);
}

// Enhanced RTMP video packet types.
enum ExPacketType : uint8_t {
  kSequenceStart = 0, kCodedFrames = 1, kSequenceEnd = 2, kCodedFramesX = 3, kMetadata = 4,
  kMpeg2TsSequenceStart = 5, kMultitrack = 6,
};

Result<FlvPacket> parse_ex_video(std::string_view body) {
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  FlvPacket pkt;
  pkt.video = true;
  if (body.size() < 5) return data_error("enhanced video tag truncated");
  uint8_t frame_type = (p[0] >> 4) & 7;
  uint8_t packet_type = p[0] & 0x0F;
  uint32_t cc = uint32_t(p[1]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 8 | p[4];
  if (packet_type == kMultitrack) return data_error("enhanced RTMP multitrack video is not supported");
  switch (cc) {
    case fourcc('a', 'v', 'c', '1'): pkt.vcodec = VideoCodec::kH264; break;
    case fourcc('h', 'v', 'c', '1'): pkt.vcodec = VideoCodec::kHevc; break;
    case fourcc('a', 'v', '0', '1'): pkt.vcodec = VideoCodec::kAv1; break;
    default: {
      std::string name;
      for (int i = 1; i <= 4; ++i) name.push_back(p[i] >= 32 && p[i] < 127 ? char(p[i]) : '?');
      return data_error("unsupported video codec '" + name + "'");
    }
  }
  // Frame type 5 is a command frame (no media) unless it carries metadata.
  if (frame_type == 5 && packet_type != kMetadata) return pkt;
  pkt.keyframe = frame_type == 1;
  std::string_view rest = body.substr(5);
  switch (packet_type) {
    case kSequenceStart: pkt.kind = FlvPacket::Kind::kConfig; pkt.data = rest; break;
    case kSequenceEnd: pkt.kind = FlvPacket::Kind::kEnd; break;
    case kCodedFrames:
      // AVC and HEVC carry a composition time here; AV1 has none.
      if (pkt.vcodec != VideoCodec::kAv1) {
        if (rest.size() < 3) return data_error("enhanced video frame truncated");
        pkt.composition_ms = si24(reinterpret_cast<const uint8_t*>(rest.data()));
        rest.remove_prefix(3);
      }
      pkt.kind = FlvPacket::Kind::kFrame;
      pkt.data = rest;
      break;
    case kCodedFramesX: pkt.kind = FlvPacket::Kind::kFrame; pkt.data = rest; break;
    default: break;  // metadata (HDR info), MPEG-2 TS sequence start: ignored
  }
  if (pkt.kind == FlvPacket::Kind::kFrame && pkt.data.empty()) pkt.kind = FlvPacket::Kind::kIgnore;
  return pkt;
}

}  // namespace

Result<FlvPacket> parse_video_tag(std::string_view body) {
  if (body.empty()) return FlvPacket{};  // some encoders send empty keep-alive tags
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  if (p[0] & 0x80) return parse_ex_video(body);
  FlvPacket pkt;
  pkt.video = true;
  uint8_t frame_type = p[0] >> 4;
  uint8_t codec_id = p[0] & 0x0F;
  if (codec_id != 7) {
    static const char* const kNames[] = {"?", "jpeg", "h263", "screen video", "vp6", "vp6 alpha",
                                         "screen video 2", "h264", "?", "?", "?", "?", "hevc (non-standard id 12)"};
    return data_error(std::string("unsupported video codec ") + (codec_id < 13 ? kNames[codec_id] : "?") +
                      " (FLV codec id " + std::to_string(codec_id) + ")");
  }
  pkt.vcodec = VideoCodec::kH264;
  if (frame_type == 5) return pkt;  // command frame
  if (body.size() < 5) return data_error("AVC video tag truncated");
  pkt.keyframe = frame_type == 1;
  pkt.composition_ms = si24(p + 2);
  std::string_view rest = body.substr(5);
  switch (p[1]) {
    case 0: pkt.kind = FlvPacket::Kind::kConfig; break;
    case 1: pkt.kind = rest.empty() ? FlvPacket::Kind::kIgnore : FlvPacket::Kind::kFrame; break;
    case 2: pkt.kind = FlvPacket::Kind::kEnd; break;
    default: return data_error("AVC packet type " + std::to_string(p[1]) + " is invalid");
  }
  pkt.data = rest;
  return pkt;
}

Result<FlvPacket> parse_audio_tag(std::string_view body) {
  if (body.empty()) return FlvPacket{};
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  FlvPacket pkt;
  uint8_t format = p[0] >> 4;
  if (format == 9) return data_error("enhanced RTMP audio (ExAudioTagHeader) is not supported");
  static const int kRates[] = {5512, 11025, 22050, 44100};
  pkt.sample_rate = kRates[(p[0] >> 2) & 3];
  pkt.channels = (p[0] & 1) ? 2 : 1;
  if (format == 10) {
    if (body.size() < 2) return data_error("AAC audio tag truncated");
    pkt.acodec = AudioCodec::kAac;
    pkt.data = body.substr(2);
    if (p[1] == 0) pkt.kind = FlvPacket::Kind::kConfig;
    else if (p[1] == 1) pkt.kind = pkt.data.empty() ? FlvPacket::Kind::kIgnore : FlvPacket::Kind::kFrame;
    else return data_error("AAC packet type " + std::to_string(p[1]) + " is invalid");
    return pkt;
  }
  if (format == 2 || format == 14) {
    pkt.acodec = AudioCodec::kMp3;
    if (format == 14) pkt.sample_rate = 8000;
    pkt.data = body.substr(1);
    pkt.kind = pkt.data.empty() ? FlvPacket::Kind::kIgnore : FlvPacket::Kind::kFrame;
    return pkt;
  }
  static const char* const kNames[] = {"linear PCM", "ADPCM", "mp3", "linear PCM LE", "nellymoser 16k",
                                       "nellymoser 8k", "nellymoser", "G.711 A-law", "G.711 mu-law",
                                       "enhanced", "aac", "speex", "?", "?", "mp3 8k", "device-specific"};
  return data_error(std::string("unsupported audio codec ") + kNames[format] + " (FLV sound format " +
                    std::to_string(format) + ")");
}

Status parse_aac_config(std::string_view asc, int& sample_rate, int& channels) {
  if (asc.size() < 2) return data_error("AAC config too short");
  const auto* p = reinterpret_cast<const uint8_t*>(asc.data());
  static const int kRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                               22050, 16000, 12000, 11025, 8000,  7350};
  uint32_t bits = uint32_t(p[0]) << 8 | p[1];
  int object_type = bits >> 11;
  int freq_index = (bits >> 7) & 0x0F;
  if (object_type == 0) return data_error("AAC config: object type 0");
  if (freq_index == 15) {
    // Explicit 24-bit frequency follows.
    if (asc.size() < 5) return data_error("AAC config truncated");
    uint64_t all = uint64_t(p[0]) << 32 | uint64_t(p[1]) << 24 | uint64_t(p[2]) << 16 | uint64_t(p[3]) << 8 | p[4];
    sample_rate = int((all >> 7) & 0xFFFFFF);
    channels = int((all >> 3) & 0x0F);
  } else {
    if (freq_index > 12) return data_error("AAC config: bad sampling frequency index");
    sample_rate = kRates[freq_index];
    channels = (bits >> 3) & 0x0F;
  }
  if (sample_rate <= 0) return data_error("AAC config: bad sample rate");
  return {};
}

}  // namespace sigma::rtmp

#pragma once
// FLV audio/video tag bodies as carried in RTMP messages 8 and 9: the
// legacy headers (H.264 codec id 7, AAC sound format 10) and Enhanced RTMP
// (v1: HEVC, AV1, and AVC by FourCC behind the IsExHeader bit), as OBS 30+
// sends them. Parsing only: payloads stay views into the message.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sigma::rtmp {

enum class VideoCodec { kNone, kH264, kHevc, kAv1 };
enum class AudioCodec { kNone, kAac, kMp3 };

const char* codec_name(VideoCodec c);
const char* codec_name(AudioCodec c);

struct FlvPacket {
  enum class Kind { kConfig, kFrame, kEnd, kIgnore };
  Kind kind = Kind::kIgnore;
  bool video = false;
  VideoCodec vcodec = VideoCodec::kNone;
  AudioCodec acodec = AudioCodec::kNone;
  bool keyframe = false;
  int32_t composition_ms = 0;  // PTS = DTS + composition time
  std::string_view data;       // config record or coded frame(s)
  // Legacy audio flags (MP3 needs them; AAC takes them from its config).
  int sample_rate = 0;
  int channels = 0;
};

// Unsupported codecs return a kData status naming the codec, so the caller
// can refuse the publisher with a clear message.
Result<FlvPacket> parse_video_tag(std::string_view body);
Result<FlvPacket> parse_audio_tag(std::string_view body);

// Sample rate and channel count from an AAC AudioSpecificConfig.
Status parse_aac_config(std::string_view asc, int& sample_rate, int& channels);

}  // namespace sigma::rtmp

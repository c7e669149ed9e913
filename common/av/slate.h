#pragma once
// The slate of a failover channel: what viewers see while neither the
// primary nor the backup input is live. A picture or a clip the user gives
// (or, "auto", a built-in "WE'LL BE RIGHT BACK" card) encoded once with
// libavcodec into one loop of H.264 (keyframe every gop frames, no B
// frames) plus one AAC frame of silence, at the channel's resolution,
// frame rate and sample rate, so a packager or transcoder downstream sees
// the same kind of stream as before. Encoding happens ahead of need (the
// caller runs make_slate on a thread); playing it is copying packets.
#include <string>
#include <vector>

#include "av/av.h"

namespace sigma::av {

struct CodecParDeleter {
  void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
using CodecParPtr = std::unique_ptr<AVCodecParameters, CodecParDeleter>;

struct SlateSpec {
  std::string file;  // a picture or clip; empty: the built-in card
  int width = 1280, height = 720;
  AVRational fps{30, 1};
  int gop_frames = 30;    // a keyframe every this many frames
  int sample_rate = 0;    // 0: no audio
  int channels = 2;
  double max_clip_s = 10;  // a longer clip is cut here
};

struct Slate {
  CodecParPtr video;  // H.264, Annex B SPS/PPS as extradata
  CodecParPtr audio;  // AAC with its AudioSpecificConfig; null without audio
  // One loop: frame i is a keyframe when i % gop_frames == 0; Annex B.
  std::vector<std::string> frames;
  int gop_frames = 30;
  AVRational fps{30, 1};
  std::string silence;  // one AAC frame (1024 samples) of silence
  int sample_rate = 0;
};

// A slate file must hold a picture or a video libav decodes: a usage error
// (naming the file) otherwise. Opens it and decodes one frame.
Status check_slate_file(const std::string& path);

// Encodes the slate (a few hundred ms of CPU for a picture at 720p; about
// real time at veryfast for a clip).
Result<Slate> make_slate(const SlateSpec& spec);

}  // namespace sigma::av

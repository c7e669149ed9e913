#include "transcode/rung_encoder.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

namespace sigma::transcode {

namespace {
// Sigma's tuning of its default preset: x264's veryfast with subme=1
// instead of 2 (one sub-pixel step less, and mode decisions by SAD, not
// SATD). On bench/transcode.sh's ladder: about a quarter less CPU time
// for 0.05 (720p) to 0.25 dB (360p) of PSNR. Other presets are used as x264
// defines them.
constexpr const char* kEconomyPreset = "veryfast";
constexpr const char* kEconomyParams = "subme=1";
}  // namespace

Status check_x264_params(const std::string& params) {
  static const std::set<std::string> kReserved = {"keyint", "min-keyint", "scenecut", "open-gop", "nal-hrd", "bitrate",
                                                  "vbv-maxrate", "vbv-bufsize", "crf", "qp", "threads"};
  if (params.empty()) return {};
  size_t start = 0;
  for (;;) {
    size_t end = params.find(':', start);
    std::string pair = params.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t eq = pair.find('=');
    if (eq == 0 || eq == std::string::npos || eq + 1 == pair.size())
      return usage_error("--x264-params '" + params + "': expected key=value pairs joined by ':', not '" + pair + "'");
    std::string key = pair.substr(0, eq);
    if (kReserved.count(key))
      return usage_error("--x264-params: " + key +
                         " is Sigma's to set (keyframes from --keyframe-interval, rates from the ladder, "
                         "threads from --encoder-threads)");
    if (end == std::string::npos) return {};
    start = end + 1;
  }
}

Result<av::CodecPtr> open_rung_encoder(const Rung& rung, const EncoderSettings& s) {
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (!codec) return internal_error("this FFmpeg build has no libx264 encoder");
  av::CodecPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return internal_error("out of memory allocating an encoder");
  AVRational fps = s.frame_rate;
  if (rung.half_fps) fps = av_mul_q(fps, AVRational{1, 2});
  enc->width = rung.width;
  enc->height = rung.height;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->sample_aspect_ratio = AVRational{1, 1};
  enc->time_base = AVRational{1, 90000};
  enc->framerate = fps;
  enc->bit_rate = rung.bitrate;
  enc->rc_max_rate = rung.maxrate;
  enc->rc_buffer_size = static_cast<int>(std::min<int64_t>(rung.bufsize, INT32_MAX));
  enc->thread_count = s.threads;
  double fps_d = av_q2d(fps) > 0 ? av_q2d(fps) : 30;
  int interval_frames = std::max(1, static_cast<int>(std::lround(s.keyframe_interval * fps_d)));
  // Keyframes come from pict_type=I at the interval boundaries; x264's own
  // GOP limit only fires if those stop (a long timestamp gap), and its
  // minimum must not suppress a forced one.
  enc->gop_size = 2 * interval_frames + 1;
  enc->keyint_min = 1;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "preset", s.x264_preset.c_str(), 0);
  av_dict_set(&opts, "forced-idr", "1", 0);
  av_dict_set(&opts, "sc_threshold", "0", 0);
  // x264 applies these in order: the user's may undo Sigma's economy, and
  // nothing may undo what follows them (alignment, the mode's latency).
  std::string params;
  if (s.x264_preset == kEconomyPreset) params += std::string(kEconomyParams) + ":";
  if (!s.x264_params.empty()) params += s.x264_params + ":";
  params += "scenecut=0:open-gop=0:nal-hrd=vbr";
  switch (s.mode) {
    case LatencyMode::kUltraLow:
      // zerolatency: no B-frames, no lookahead, no frame threads, so a
      // frame's packet comes out of the encoder call that took it in (a
      // lookahead of 5 frames cost 0.17 s of glass-to-glass latency).
      av_dict_set(&opts, "tune", "zerolatency", 0);
      params += ":bframes=0:rc-lookahead=0";
      break;
    case LatencyMode::kLow:
      params += ":rc-lookahead=" + std::to_string(std::min(20, interval_frames));
      break;
    case LatencyMode::kNormal:
      break;  // the preset's B-frames and lookahead compress best
  }
  av_dict_set(&opts, "x264-params", params.c_str(), 0);
  int r = avcodec_open2(enc.get(), codec, &opts);
  std::string unused;
  if (AVDictionaryEntry* e = av_dict_get(opts, "", nullptr, AV_DICT_IGNORE_SUFFIX)) unused = e->key;
  av_dict_free(&opts);
  if (r < 0) return av::av_status(r, "open libx264 for rung " + rung.label());
  if (!unused.empty()) return usage_error("libx264 rejected option '" + unused + "'");
  return enc;
}

}  // namespace sigma::transcode

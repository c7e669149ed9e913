#include "av/slate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "av/codec_loop.h"

namespace sigma::av {

namespace {

// A 5x7 font for the built-in card's letters only.
struct Glyph {
  char c;
  const char* rows[7];
};
constexpr Glyph kFont[] = {
    {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "##.##", "#...#"}},
    {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
    {'\'', {"..#..", "..#..", ".#...", ".....", ".....", ".....", "....."}},
    {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
    {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
    {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
    {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".###."}},
    {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
    {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
    {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
};

const Glyph* glyph(char c) {
  for (const auto& g : kFont)
    if (g.c == c) return &g;
  return nullptr;
}

// The built-in card: white letters on dark grey (neutral chroma), centred.
Status draw_card(AVFrame* f) {
  const int w = f->width, h = f->height;
  for (int y = 0; y < h; ++y) std::memset(f->data[0] + y * f->linesize[0], 40, size_t(w));
  for (int p = 1; p < 3; ++p)
    for (int y = 0; y < (h + 1) / 2; ++y) std::memset(f->data[p] + y * f->linesize[p], 128, size_t((w + 1) / 2));
  const char* lines[] = {"WE'LL BE", "RIGHT BACK"};
  const int cols = 10 * 6, rows = 2 * 9;
  int s = std::max(1, std::min(w * 7 / 10 / cols, h / 2 / rows));
  int top = (h - rows * s) / 2;
  for (int l = 0; l < 2; ++l) {
    int len = int(std::strlen(lines[l]));
    int left = (w - len * 6 * s) / 2;
    for (int i = 0; i < len; ++i) {
      const Glyph* g = glyph(lines[l][i]);
      if (!g) continue;
      for (int gy = 0; gy < 7; ++gy)
        for (int gx = 0; gx < 5; ++gx) {
          if (g->rows[gy][gx] != '#') continue;
          for (int dy = 0; dy < s; ++dy) {
            int y = top + (l * 9 + gy) * s + dy;
            if (y < 0 || y >= h) continue;
            int x0 = left + (i * 6 + gx) * s;
            if (x0 < 0 || x0 + s > w) continue;
            std::memset(f->data[0] + y * f->linesize[0] + x0, 235, size_t(s));
          }
        }
    }
  }
  return {};
}

Result<FramePtr> blank_frame(int w, int h) {
  FramePtr f = make_frame();
  if (!f) return internal_error("out of memory");
  f->width = w;
  f->height = h;
  f->format = AV_PIX_FMT_YUV420P;
  int r = av_frame_get_buffer(f.get(), 0);
  if (r < 0) return av_status(r, "allocate a slate frame");
  return f;
}

// Decodes a file's video: each picture scaled to the slate's size, with
// its time in seconds from the first one.
class FileFrames {
 public:
  Status open(const std::string& path, int w, int h) {
    w_ = w;
    h_ = h;
    InputOptions opts;
    opts.stop_on_signal = false;
    SIGMA_ASSIGN_OR_RETURN(in_, open_input(path, opts));
    stream_ = av_find_best_stream(in_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (stream_ < 0) return usage_error("no picture or video stream in it");
    const AVCodecParameters* par = in_->streams[stream_]->codecpar;
    const AVCodec* codec = avcodec_find_decoder(par->codec_id);
    if (!codec) return usage_error(std::string("no decoder for ") + avcodec_get_name(par->codec_id));
    dec_.reset(avcodec_alloc_context3(codec));
    if (!dec_) return internal_error("out of memory");
    int r = avcodec_parameters_to_context(dec_.get(), par);
    if (r < 0) return av_status(r, "decoder parameters");
    dec_->thread_count = 1;
    r = avcodec_open2(dec_.get(), codec, nullptr);
    if (r < 0) return av_status(r, "open decoder");
    tb_ = in_->streams[stream_]->time_base;
    return {};
  }

  // Calls sink(frame, seconds) for every picture, up to max_s; stops early
  // when sink returns false.
  Status each(double max_s, const std::function<bool(AVFrame*, double)>& sink) {
    auto pkt = make_packet();
    auto scratch = make_frame();
    bool more = true;
    auto on_frame = [&](AVFrame* df) -> Status {
      if (!more) return {};
      int64_t ts = df->best_effort_timestamp;
      double t = 0;
      if (ts != AV_NOPTS_VALUE) {
        if (first_ts_ == AV_NOPTS_VALUE) first_ts_ = ts;
        t = double(ts - first_ts_) * av_q2d(tb_);
      }
      if (t > max_s) {
        more = false;
        return {};
      }
      sws_.reset(sws_getCachedContext(sws_.release(), df->width, df->height, AVPixelFormat(df->format), w_, h_,
                                      AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr));
      if (!sws_) return usage_error("cannot scale its pictures");
      SIGMA_ASSIGN_OR_RETURN(auto out, blank_frame(w_, h_));
      sws_scale(sws_.get(), df->data, df->linesize, 0, df->height, out->data, out->linesize);
      ++decoded_;
      more = sink(out.get(), t);
      return {};
    };
    while (more) {
      int r = av_read_frame(in_.get(), pkt.get());
      if (r == AVERROR_EOF) break;
      if (r < 0) return av_status(r, "read");
      if (pkt->stream_index == stream_) {
        Status st = decode(dec_.get(), pkt.get(), scratch.get(), on_frame);
        av_packet_unref(pkt.get());
        if (!st.is_ok() && decoded_ == 0) return st;
      } else {
        av_packet_unref(pkt.get());
      }
    }
    if (more) SIGMA_RETURN_IF_ERROR(decode(dec_.get(), nullptr, scratch.get(), on_frame));
    if (decoded_ == 0) return usage_error("no picture could be decoded from it");
    return {};
  }

 private:
  int w_ = 0, h_ = 0;
  InputPtr in_;
  CodecPtr dec_;
  SwsPtr sws_;
  int stream_ = -1;
  AVRational tb_{1, 1};
  int64_t first_ts_ = AV_NOPTS_VALUE;
  int decoded_ = 0;
};

// SPS and PPS NAL units (Annex B) of an H.264 access unit.
std::string parameter_sets(const std::string& au) {
  std::string out;
  size_t i = 0, n = au.size();
  auto next_start = [&](size_t from) {
    for (size_t k = from; k + 3 <= n; ++k)
      if (au[k] == 0 && au[k + 1] == 0 && au[k + 2] == 1) return k;
    return n;
  };
  i = next_start(0);
  while (i < n) {
    size_t payload = i + 3;
    size_t end = next_start(payload);
    size_t stop = end;
    while (stop > payload && au[stop - 1] == 0) --stop;  // the next start code's leading zero
    int type = payload < n ? (au[payload] & 0x1f) : 0;
    if (type == 7 || type == 8) out += std::string("\0\0\0\1", 4) + au.substr(payload, stop - payload);
    i = end;
  }
  return out;
}

Status encode_video(const SlateSpec& spec, Slate& slate) {
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (!codec) codec = avcodec_find_encoder(AV_CODEC_ID_H264);
  if (!codec) return internal_error("no H.264 encoder in libavcodec");
  CodecPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return internal_error("out of memory");
  enc->width = spec.width;
  enc->height = spec.height;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->time_base = av_inv_q(spec.fps);
  enc->framerate = spec.fps;
  enc->gop_size = spec.gop_frames;
  enc->max_b_frames = 0;
  enc->thread_count = 1;  // runs beside live channels: one core at most
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "preset", "veryfast", 0);
  av_dict_set(&opts, "tune", "zerolatency", 0);
  std::string params = "keyint=" + std::to_string(spec.gop_frames) + ":min-keyint=" + std::to_string(spec.gop_frames) +
                       ":scenecut=0:repeat-headers=1";
  av_dict_set(&opts, "x264-params", params.c_str(), 0);
  av_dict_set(&opts, "crf", "23", 0);
  int r = avcodec_open2(enc.get(), codec, &opts);
  av_dict_free(&opts);
  if (r < 0) return av_status(r, "open the H.264 encoder");

  auto pkt = make_packet();
  int64_t pts = 0;
  auto collect = [&](AVPacket* p) -> Status {
    slate.frames.emplace_back(reinterpret_cast<const char*>(p->data), size_t(p->size));
    return {};
  };
  auto put = [&](AVFrame* f) -> Status {
    f->pts = pts;
    f->pict_type = pts % spec.gop_frames == 0 ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    ++pts;
    return encode(enc.get(), f, pkt.get(), collect);
  };
  const int64_t max_frames =
      std::max<int64_t>(1, int64_t(spec.max_clip_s * av_q2d(spec.fps)) / spec.gop_frames * spec.gop_frames);
  FramePtr last;
  if (spec.file.empty()) {
    SIGMA_ASSIGN_OR_RETURN(last, blank_frame(spec.width, spec.height));
    SIGMA_RETURN_IF_ERROR(draw_card(last.get()));
  } else {
    FileFrames ff;
    SIGMA_RETURN_IF_ERROR_CTX(ff.open(spec.file, spec.width, spec.height), "slate " + spec.file);
    Status inner;
    Status st = ff.each(spec.max_clip_s, [&](AVFrame* f, double t) {
      // Resampled to the channel's rate: each output frame shows the
      // newest picture at its time.
      while (last && double(pts) / av_q2d(spec.fps) < t && pts < max_frames) {
        inner = put(last.get());
        if (!inner.is_ok()) return false;
      }
      FramePtr copy = make_frame();
      if (!copy || av_frame_ref(copy.get(), f) < 0) {
        inner = internal_error("out of memory");
        return false;
      }
      last = std::move(copy);
      return pts < max_frames;
    });
    SIGMA_RETURN_IF_ERROR_CTX(st, "slate " + spec.file);
    SIGMA_RETURN_IF_ERROR(inner);
  }
  // The loop ends on a whole GOP so that every repetition starts on a keyframe.
  while (pts == 0 || pts % spec.gop_frames != 0) SIGMA_RETURN_IF_ERROR(put(last.get()));
  SIGMA_RETURN_IF_ERROR(encode(enc.get(), nullptr, pkt.get(), collect));
  if (slate.frames.size() != size_t(pts)) return internal_error("the slate encoder dropped frames");
  std::string ps = parameter_sets(slate.frames.front());
  if (ps.empty()) return internal_error("the slate's first frame carries no SPS/PPS");
  slate.video.reset(avcodec_parameters_alloc());
  if (!slate.video) return internal_error("out of memory");
  avcodec_parameters_from_context(slate.video.get(), enc.get());
  av_freep(&slate.video->extradata);
  slate.video->extradata = static_cast<uint8_t*>(av_mallocz(ps.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!slate.video->extradata) return internal_error("out of memory");
  std::memcpy(slate.video->extradata, ps.data(), ps.size());
  slate.video->extradata_size = int(ps.size());
  return {};
}

Status encode_silence(const SlateSpec& spec, Slate& slate) {
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (!codec) return internal_error("no AAC encoder in libavcodec");
  CodecPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return internal_error("out of memory");
  enc->sample_rate = spec.sample_rate;
  enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
  av_channel_layout_default(&enc->ch_layout, spec.channels > 0 ? spec.channels : 2);
  enc->bit_rate = 64000;
  enc->time_base = AVRational{1, spec.sample_rate};
  enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int r = avcodec_open2(enc.get(), codec, nullptr);
  if (r < 0) return av_status(r, "open the AAC encoder");
  auto frame = make_frame();
  frame->nb_samples = enc->frame_size > 0 ? enc->frame_size : 1024;
  frame->format = enc->sample_fmt;
  frame->sample_rate = enc->sample_rate;
  r = av_channel_layout_copy(&frame->ch_layout, &enc->ch_layout);
  if (r >= 0) r = av_frame_get_buffer(frame.get(), 0);
  if (r < 0) return av_status(r, "allocate audio frame");
  av_samples_set_silence(frame->extended_data, 0, frame->nb_samples, frame->ch_layout.nb_channels,
                         AVSampleFormat(frame->format));
  std::vector<std::string> out;
  auto pkt = make_packet();
  auto collect = [&](AVPacket* p) -> Status {
    out.emplace_back(reinterpret_cast<const char*>(p->data), size_t(p->size));
    return {};
  };
  for (int i = 0; i < 8; ++i) {
    frame->pts = int64_t(i) * frame->nb_samples;
    SIGMA_RETURN_IF_ERROR(encode(enc.get(), frame.get(), pkt.get(), collect));
  }
  SIGMA_RETURN_IF_ERROR(encode(enc.get(), nullptr, pkt.get(), collect));
  if (out.size() < 4) return internal_error("the AAC encoder gave too few frames");
  slate.silence = out[4];  // past the encoder's priming, before its flush
  slate.sample_rate = spec.sample_rate;
  slate.audio.reset(avcodec_parameters_alloc());
  if (!slate.audio) return internal_error("out of memory");
  avcodec_parameters_from_context(slate.audio.get(), enc.get());
  slate.audio->frame_size = frame->nb_samples;
  return {};
}

}  // namespace

Status check_slate_file(const std::string& path) {
  FileFrames ff;
  Status st = ff.open(path, 64, 36);
  if (st.is_ok()) st = ff.each(3600, [](AVFrame*, double) { return false; });
  if (!st.is_ok())
    return usage_error("slate " + path + ": not a picture or video libav can decode (" + st.message() + ")");
  return {};
}

Result<Slate> make_slate(const SlateSpec& in) {
  SlateSpec spec = in;
  spec.width = std::max(16, spec.width & ~1);
  spec.height = std::max(16, spec.height & ~1);
  if (spec.fps.num <= 0 || spec.fps.den <= 0) spec.fps = AVRational{30, 1};
  spec.gop_frames = std::clamp(spec.gop_frames, 1, 600);
  Slate slate;
  slate.gop_frames = spec.gop_frames;
  slate.fps = spec.fps;
  SIGMA_RETURN_IF_ERROR(encode_video(spec, slate));
  if (spec.sample_rate > 0) SIGMA_RETURN_IF_ERROR(encode_silence(spec, slate));
  return slate;
}

}  // namespace sigma::av

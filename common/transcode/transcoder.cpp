#include "transcode/transcoder.h"

#include <cmath>
#include <memory>
#include <vector>

#include "av/codec_loop.h"
#include "av/ts_muxer.h"
#include "base/cli.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/time.h"
#include "transcode/audio_path.h"
#include "transcode/input_source.h"
#include "transcode/ladder.h"
#include "transcode/lag_monitor.h"
#include "transcode/rung_encoder.h"
#include "transcode/rung_worker.h"
#include "transcode/timeline.h"

namespace sigma::transcode {

namespace {

constexpr AVRational kTb90k{1, 90000};

AVRational input_frame_rate(const AVStream* st) {
  for (AVRational r : {st->avg_frame_rate, st->r_frame_rate})
    if (r.num > 0 && r.den > 0 && av_q2d(r) >= 1 && av_q2d(r) <= 240) return r;
  return AVRational{30, 1};
}

class Transcoder {
 public:
  Transcoder(TranscodeParams p, EventWriter& events) : p_(std::move(p)), events_(events), input_(p_.input) {}
  Status run();

 private:
  Status validate();
  Status setup(AVFormatContext* in);
  Status open_decoder(const AVStream* st);
  Status session(AVFormatContext* in);
  Status on_video_packet(AVFormatContext* in, AVPacket* pkt);
  Status on_frame(AVFrame* f);
  void on_new_size(const AVFrame* f);
  Status drain_decoder();
  Status check_workers();
  void on_lag(double behind_s);
  void on_caught_up();
  Status finish();
  void emit(const std::string& type, nlohmann::json fields = nlohmann::json::object()) {
    events_.emit(type, p_.channel, std::move(fields));
  }

  TranscodeParams p_;
  EventWriter& events_;
  InputSource input_;
  LatencyMode mode_ = LatencyMode::kNormal;
  std::vector<RungSpec> specs_;
  double interval_s_ = 2;
  int sws_flags_ = SWS_BICUBIC;
  int cascade_sws_flags_ = SWS_LANCZOS;

  av::TsMuxer mux_;
  std::vector<Rung> rungs_;
  ResolveOptions resolve_;  // as at start; on_new_size varies the source
  std::vector<std::unique_ptr<RungWorker>> workers_;  // encoded rungs, ladder order
  std::vector<RungWorker*> roots_;                    // fed by the decoder
  int source_stream_ = -1;
  AVCodecID source_codec_ = AV_CODEC_ID_NONE;
  bool source_codec_warned_ = false;
  std::unique_ptr<AudioPath> audio_;

  int video_index_ = -1, audio_index_ = -1;
  AVRational fps_{30, 1};
  int64_t frame_step_ = 3000;  // 90 kHz ticks per input frame
  av::CodecPtr dec_;
  av::FramePtr frame_ = av::make_frame();
  Timeline timeline_{10 * 90000};
  std::unique_ptr<KeyframeSchedule> schedule_;
  int64_t last_frame_pts_ = INT64_MIN;
  int last_w_ = 0, last_h_ = 0;
  std::unique_ptr<LagMonitor> lag_;
  int64_t frames_ = 0;
  int64_t last_lag_report_ms_ = INT64_MIN / 2;
  std::vector<RungWorker*> shed_;  // in the order they were shed
};

Status Transcoder::validate() {
  SIGMA_ASSIGN_OR_RETURN(mode_, parse_mode(p_.mode));
  if (!p_.ladder.empty()) {
    SIGMA_ASSIGN_OR_RETURN(specs_, parse_ladder(p_.ladder));
  } else {
    SIGMA_ASSIGN_OR_RETURN(specs_, preset_ladder(p_.preset));
  }
  SIGMA_RETURN_IF_ERROR(check_x264_params(p_.x264_params));
  SIGMA_ASSIGN_OR_RETURN(sws_flags_, parse_scaler(p_.scaler));
  SIGMA_ASSIGN_OR_RETURN(cascade_sws_flags_, parse_scaler(p_.cascade_scaler));
  interval_s_ = p_.keyframe_interval > 0 ? p_.keyframe_interval : default_keyframe_interval(mode_);
  if (interval_s_ < 0.1 || interval_s_ > 20) return usage_error("keyframe interval must be within 0.1..20 s");
  if (p_.segment_duration > 0) {
    double n = p_.segment_duration / interval_s_;
    if (n < 1 || std::fabs(n - std::round(n)) > 1e-6)
      return usage_error("keyframe interval " + std::to_string(interval_s_) + " s does not divide the segment duration " +
                         std::to_string(p_.segment_duration) + " s");
  }
  if (p_.audio_bitrate < 16000 || p_.audio_bitrate > 512000) return usage_error("audio bitrate out of range (16k..512k)");
  return input_.probe();
}

Status Transcoder::setup(AVFormatContext* in) {
  video_index_ = av_find_best_stream(in, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (video_index_ < 0) return data_error("input " + redact_url(p_.input) + " has no video stream");
  audio_index_ = av_find_best_stream(in, AVMEDIA_TYPE_AUDIO, -1, video_index_, nullptr, 0);
  const AVStream* vs = in->streams[video_index_];
  fps_ = input_frame_rate(vs);
  frame_step_ = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(fps_), kTb90k));
  ResolveOptions ro;
  ro.src_width = vs->codecpar->width;
  ro.src_height = vs->codecpar->height;
  ro.sar_num = vs->codecpar->sample_aspect_ratio.num;
  ro.sar_den = vs->codecpar->sample_aspect_ratio.den;
  ro.half_fps_at_or_below = p_.half_fps_at_or_below;
  ro.mode = mode_;
  SIGMA_ASSIGN_OR_RETURN(rungs_, resolve_ladder(specs_, ro));
  resolve_ = ro;
  last_w_ = ro.src_width;
  last_h_ = ro.src_height;
  for (const auto& r : rungs_)
    if (r.source && vs->codecpar->codec_id != AV_CODEC_ID_H264 && vs->codecpar->codec_id != AV_CODEC_ID_HEVC)
      return data_error(std::string("the source rung needs H.264 or HEVC input, not ") +
                        avcodec_get_name(vs->codecpar->codec_id));

  SIGMA_RETURN_IF_ERROR(mux_.open(p_.output));
  EncoderSettings es;
  es.mode = mode_;
  es.x264_preset = p_.x264_preset;
  es.x264_params = p_.x264_params;
  es.frame_rate = fps_;
  es.keyframe_interval = interval_s_;
  es.threads = p_.encoder_threads;
  nlohmann::json rung_events = nlohmann::json::array();
  for (const auto& r : rungs_) {
    if (r.source) {
      SIGMA_ASSIGN_OR_RETURN(source_stream_, mux_.add_stream(vs->codecpar));
      source_codec_ = vs->codecpar->codec_id;
    } else {
      SIGMA_ASSIGN_OR_RETURN(av::CodecPtr enc, open_rung_encoder(r, es));
      SIGMA_ASSIGN_OR_RETURN(int stream, mux_.add_stream(enc.get()));
      workers_.push_back(std::make_unique<RungWorker>(r, std::move(enc), es, mux_, stream, sws_flags_));
    }
    rung_events.push_back({{"rung", r.label()}, {"width", r.width}, {"height", r.height},
                           {"bitrate", r.bitrate}, {"half_fps", r.half_fps}});
    spdlog::info("rung {}: {}x{}{}", r.label(), r.width, r.height, r.half_fps ? " at half frame rate" : "");
  }
  if (audio_index_ >= 0) {
    audio_ = std::make_unique<AudioPath>(mux_, p_.audio_bitrate);
    SIGMA_RETURN_IF_ERROR(audio_->add_output(in->streams[audio_index_]));
  }
  // Interleaving by dts holds a packet until every stream has one as late:
  // a few ms normally (the rungs run in step), up to the limit while a rung
  // is shed. The packager needs it: fed out of order it cuts audio late.
  av::TsMuxOptions mo;
  mo.max_interleave_us = mode_ == LatencyMode::kUltraLow ? 500000 : 2000000;
  mo.drop_refused = true;
  SIGMA_RETURN_IF_ERROR(mux_.start(mo));

  // Each rung scales from the smallest larger rung that keeps at least its
  // frames: fewer source pixels to read, and the 1080p frame is touched once.
  for (size_t i = 0; i < workers_.size(); ++i) {
    RungWorker* parent = nullptr;
    if (p_.cascade) {
      for (size_t j = i; j-- > 0;) {
        if (!workers_[j]->configured().half_fps || workers_[i]->configured().half_fps) {
          parent = workers_[j].get();
          break;
        }
      }
    }
    if (parent) {
      parent->add_child(workers_[i].get());
      workers_[i]->set_sws_flags(cascade_sws_flags_);
    } else {
      roots_.push_back(workers_[i].get());
    }
  }
  if (p_.test_slow_rung_ms > 0 && !workers_.empty()) workers_[0]->set_test_delay_ms(p_.test_slow_rung_ms);
  for (auto& w : workers_) w->start();
  schedule_ = std::make_unique<KeyframeSchedule>(std::llround(interval_s_ * 90000), source_stream_ >= 0, frame_step_);
  lag_ = std::make_unique<LagMonitor>(input_.live() ? p_.max_lag : 0.0, p_.recover_after);
  emit("transcode.started", {{"input", redact_url(p_.input)}, {"mode", mode_name(mode_)},
                             {"keyframe_interval", interval_s_}, {"rungs", rung_events},
                             {"audio", audio_index_ < 0                                                    ? "none"
                                       : in->streams[audio_index_]->codecpar->codec_id == AV_CODEC_ID_AAC ? "copy"
                                                                                                          : "aac"}});
  return {};
}

Status Transcoder::open_decoder(const AVStream* st) {
  dec_.reset();
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) return data_error(std::string("no decoder for video codec ") + avcodec_get_name(st->codecpar->codec_id));
  dec_.reset(avcodec_alloc_context3(codec));
  if (!dec_) return internal_error("out of memory");
  int r = avcodec_parameters_to_context(dec_.get(), st->codecpar);
  if (r < 0) return av::av_status(r, "video decoder parameters");
  dec_->pkt_timebase = kTb90k;
  dec_->thread_count = p_.decoder_threads;
  dec_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  r = avcodec_open2(dec_.get(), codec, nullptr);
  if (r < 0) return av::av_status(r, std::string("open video decoder ") + codec->name);
  spdlog::info("video: {} {}x{} at {:.3f} fps", codec->name, st->codecpar->width, st->codecpar->height, av_q2d(fps_));
  return {};
}

Status Transcoder::check_workers() {
  for (auto& w : workers_)
    if (w->failed()) return w->status();
  return {};
}

void Transcoder::on_new_size(const AVFrame* f) {
  std::string from = std::to_string(last_w_) + "x" + std::to_string(last_h_);
  std::string to = std::to_string(f->width) + "x" + std::to_string(f->height);
  last_w_ = f->width;
  last_h_ = f->height;
  ResolveOptions ro = resolve_;
  ro.src_width = f->width;
  ro.src_height = f->height;
  ro.sar_num = f->sample_aspect_ratio.num;
  ro.sar_den = f->sample_aspect_ratio.den;
  // The streams (and the packager's variants) stay; their sizes follow.
  nlohmann::json sizes = nlohmann::json::array();
  for (auto& w : workers_) {
    Rung r = refit_rung(w->configured(), ro);
    w->resize(r);
    sizes.push_back({{"rung", w->configured().label()}, {"width", r.width}, {"height", r.height}});
  }
  // Every rung restarts on this frame, a keyframe on all of them (the
  // source rung's too: a new size starts with an IDR).
  schedule_->restart();
  spdlog::warn("input video changed from {} to {}; rungs resized, keyframe at this frame", from, to);
  emit("transcode.input_changed", {{"from", from}, {"to", to}, {"rungs", sizes}});
}

Status Transcoder::on_frame(AVFrame* f) {
  int64_t pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
  if (pts == AV_NOPTS_VALUE) pts = last_frame_pts_ == INT64_MIN ? 0 : last_frame_pts_ + frame_step_;
  // Reordering around a timestamp jump can hand back a frame from before
  // the last one: every rung drops it alike, so they stay aligned.
  if (pts <= last_frame_pts_) return {};
  last_frame_pts_ = pts;
  bool new_size = f->width != last_w_ || f->height != last_h_;
  if (new_size) on_new_size(f);
  ++frames_;
  auto d = schedule_->next(pts, f->key_frame);
  for (RungWorker* w : roots_) {
    av::FramePtr ref = av::make_frame();
    if (!ref || av_frame_ref(ref.get(), f) < 0) return internal_error("out of memory");
    ref->pts = pts;
    w->push(RungFrame{std::move(ref), d.keyframe, d.keep_at_half_rate, new_size});
  }
  return check_workers();
}

Status Transcoder::on_video_packet(AVFormatContext* in, AVPacket* pkt) {
  const AVStream* st = in->streams[pkt->stream_index];
  av_packet_rescale_ts(pkt, st->time_base, kTb90k);
  int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
  if (ts != AV_NOPTS_VALUE) {
    auto m = timeline_.map(0, ts, frame_step_);
    int64_t off = m.ts - ts;
    if (pkt->pts != AV_NOPTS_VALUE) pkt->pts += off;
    if (pkt->dts != AV_NOPTS_VALUE) pkt->dts += off;
    if (m.jumped && frames_ > 0) {
      spdlog::warn("input timestamps jumped; output continues at {:.3f} s", m.ts / 90000.0);
      emit("transcode.discontinuity", {{"at", m.ts / 90000.0}});
    }
    lag_->media_at(m.ts, m.jumped);
  }
  if (!dec_ || dec_->codec_id != st->codecpar->codec_id) {
    if (dec_) {
      SIGMA_RETURN_IF_ERROR(drain_decoder());
      emit("transcode.input_changed", {{"codec", avcodec_get_name(st->codecpar->codec_id)}});
    }
    SIGMA_RETURN_IF_ERROR(open_decoder(st));
  }
  if (source_stream_ >= 0) {
    if (st->codecpar->codec_id == source_codec_) {
      av::PacketPtr copy = av::make_packet();
      if (!copy || av_packet_ref(copy.get(), pkt) < 0) return internal_error("out of memory");
      SIGMA_RETURN_IF_ERROR(mux_.write(source_stream_, copy.get(), kTb90k));
    } else if (!source_codec_warned_) {
      source_codec_warned_ = true;
      spdlog::warn("source rung: input codec is now {}, not {}; source rung paused",
                   avcodec_get_name(st->codecpar->codec_id), avcodec_get_name(source_codec_));
    }
  }
  Status s = av::decode(dec_.get(), pkt, frame_.get(), [&](AVFrame* f) { return on_frame(f); });
  if (s.code() == ExitCode::kData) {
    // Damaged input is a fact of live streaming: skip, keep the channel up.
    spdlog::debug("video: {}", s.message());
    return {};
  }
  return s;
}

Status Transcoder::drain_decoder() {
  if (!dec_) return {};
  Status s = av::decode(dec_.get(), nullptr, frame_.get(), [&](AVFrame* f) { return on_frame(f); });
  dec_.reset();
  return s.code() == ExitCode::kData ? Status() : s;
}

void Transcoder::on_lag(double behind_s) {
  RungWorker* victim = nullptr;
  int active = 0;
  for (auto& w : workers_) {
    if (w->is_shed()) continue;
    ++active;
    if (!victim) victim = w.get();  // ladder order: largest first
  }
  nlohmann::json f = {{"behind_s", std::round(behind_s * 10) / 10}};
  if (victim && active > 1) {
    victim->shed();
    shed_.push_back(victim);
    f["shed"] = victim->configured().label();
    spdlog::warn("encoding is {:.1f} s behind real time: shedding rung {}", behind_s, victim->configured().label());
  } else {
    // Nothing left to shed: say so now and then, not at every check.
    int64_t now = monotonic_ms();
    if (now - last_lag_report_ms_ < 10000) return;
    last_lag_report_ms_ = now;
    spdlog::warn("encoding is {:.1f} s behind real time and only one rung is left", behind_s);
  }
  emit("transcode.lagging", f);
}

void Transcoder::on_caught_up() {
  // The last one shed is the cheapest of those shed: the likeliest to fit.
  RungWorker* w = shed_.back();
  shed_.pop_back();
  w->restore();
  spdlog::info("encoding has kept up for {:.0f} s: rung {} comes back at the next keyframe",
               lag_->recover_after_ms() / 1000.0, w->configured().label());
  emit("transcode.recovered", {{"rung", w->configured().label()}, {"calm_s", lag_->recover_after_ms() / 1000.0}});
}

Status Transcoder::session(AVFormatContext* in) {
  av::PacketPtr pkt = av::make_packet();
  if (audio_ && audio_index_ >= 0) SIGMA_RETURN_IF_ERROR(audio_->begin_input(in->streams[audio_index_]));
  while (!stop_requested()) {
    int64_t t0 = monotonic_ms();
    int r = av_read_frame(in, pkt.get());
    lag_->waited_ms(monotonic_ms() - t0);
    if (r == AVERROR(EAGAIN)) continue;
    if (r == AVERROR_EOF || r == AVERROR_EXIT) break;
    if (r < 0) {
      if (input_.reopenable()) {
        spdlog::warn("read {}: {}", redact_url(p_.input), av::error_string(r));
        break;
      }
      return av::av_status(r, "read " + redact_url(p_.input));
    }
    Status s;
    if (pkt->stream_index == video_index_) {
      s = on_video_packet(in, pkt.get());
    } else if (pkt->stream_index == audio_index_ && audio_) {
      const AVStream* st = in->streams[pkt->stream_index];
      av_packet_rescale_ts(pkt.get(), st->time_base, kTb90k);
      int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
      if (ts != AV_NOPTS_VALUE) {
        int64_t step = pkt->duration > 0 ? pkt->duration : 1920;
        int64_t off = timeline_.map(1, ts, step).ts - ts;
        if (pkt->pts != AV_NOPTS_VALUE) pkt->pts += off;
        if (pkt->dts != AV_NOPTS_VALUE) pkt->dts += off;
      }
      s = audio_->packet(pkt.get(), st);
    }
    av_packet_unref(pkt.get());
    SIGMA_RETURN_IF_ERROR(s);
    SIGMA_RETURN_IF_ERROR(check_workers());
    auto v = lag_->check(monotonic_ms(), !shed_.empty());
    if (v.kind == LagMonitor::Verdict::kBehind) on_lag(v.behind_s);
    if (v.kind == LagMonitor::Verdict::kCaughtUp) on_caught_up();
  }
  SIGMA_RETURN_IF_ERROR(drain_decoder());
  if (audio_) SIGMA_RETURN_IF_ERROR(audio_->end_input());
  return {};
}

Status Transcoder::finish() {
  for (RungWorker* w : roots_) w->close();
  Status first;
  for (auto& w : workers_) {
    w->join();
    if (first.is_ok() && w->failed()) first = w->status();
  }
  SIGMA_RETURN_IF_ERROR(first);
  if (audio_) SIGMA_RETURN_IF_ERROR(audio_->finish());
  return mux_.finish();
}

Status Transcoder::run() {
  SIGMA_RETURN_IF_ERROR(validate());
  av::InputOptions io;
  io.analyzeduration = mode_ == LatencyMode::kUltraLow ? 1000000 : 3000000;
  SIGMA_ASSIGN_OR_RETURN(av::InputPtr in, input_.open(io));
  if (!in) return {};  // stopped while waiting for a writer
  SIGMA_RETURN_IF_ERROR(setup(in.get()));
  notify_ready(p_.ready_fd);
  Status st;
  for (;;) {
    st = session(in.get());
    if (!st.is_ok() || stop_requested() || !input_.reopenable()) break;
    in.reset();
    spdlog::info("input {} ended; waiting for it to come back", redact_url(p_.input));
    emit("transcode.input_ended");
    auto next = input_.open(io);
    if (!next) {
      st = next.status();
      break;
    }
    in = std::move(*next);
    if (!in) break;  // stop requested while waiting
    // The new writer's stream may differ: pick its streams again.
    int v = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (v < 0) spdlog::warn("input came back without video; its packets are ignored");
    video_index_ = v;
    audio_index_ = audio_ ? av_find_best_stream(in.get(), AVMEDIA_TYPE_AUDIO, -1, v, nullptr, 0) : -1;
    timeline_.new_session();
    emit("transcode.input_resumed");
    spdlog::info("input {} is back", redact_url(p_.input));
  }
  // Whatever happened, flush what the encoders hold so the output ends on
  // whole segments; the first error wins.
  Status fin = finish();
  if (!st.is_ok()) return st;
  if (!fin.is_ok()) return fin;
  spdlog::info("done: {} frames", frames_);
  return {};
}

}  // namespace

Status run_transcode(TranscodeParams p, EventWriter& events) {
  av::route_av_logs_to_spdlog();
  Transcoder t(std::move(p), events);
  return t.run();
}

}  // namespace sigma::transcode

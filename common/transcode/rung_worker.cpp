#include "transcode/rung_worker.h"

#include <chrono>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "av/codec_loop.h"
#include "base/log.h"

namespace sigma::transcode {

Result<int> parse_scaler(const std::string& name) {
  if (name == "bicubic") return SWS_BICUBIC;
  if (name == "bilinear") return SWS_BILINEAR;
  if (name == "fast_bilinear") return SWS_FAST_BILINEAR;
  if (name == "area") return SWS_AREA;
  if (name == "lanczos") return SWS_LANCZOS;
  if (name == "spline") return SWS_SPLINE;
  return usage_error("unknown scaler '" + name + "' (bicubic, bilinear, fast_bilinear, area, lanczos, spline)");
}

RungWorker::RungWorker(Rung rung, av::CodecPtr enc, EncoderSettings es, av::TsMuxer& mux, int stream, int sws_flags)
    : configured_(rung),
      rung_(std::move(rung)),
      enc_(std::move(enc)),
      mux_(mux),
      stream_(stream),
      sws_flags_(sws_flags),
      es_(std::move(es)),
      encoding_(enc_ != nullptr) {}

RungWorker::~RungWorker() {
  if (thread_.joinable()) {
    close();
    thread_.join();
  }
}

void RungWorker::start() { thread_ = std::thread([this] { run(); }); }

void RungWorker::push(RungFrame f) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queue_.size() < kQueueLimit || failed_.load() || closed_; });
  if (failed_.load() || closed_) return;
  queue_.push_back(std::move(f));
  cv_.notify_all();
}

void RungWorker::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

void RungWorker::join() {
  if (thread_.joinable()) thread_.join();
}

Status RungWorker::status() {
  std::lock_guard lock(mu_);
  return status_;
}

void RungWorker::fail(Status st) {
  std::lock_guard lock(mu_);
  if (status_.is_ok()) status_ = st.wrap("rung " + configured_.label());
  failed_.store(true);
  queue_.clear();
  cv_.notify_all();
}

void RungWorker::run() {
  for (;;) {
    RungFrame item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || closed_; });
      if (queue_.empty()) break;  // closed and drained
      item = std::move(queue_.front());
      queue_.pop_front();
      cv_.notify_all();
    }
    if (failed_.load()) continue;
    Status st = handle(item);
    if (!st.is_ok()) fail(st);
  }
  if (!failed_.load() && encoding_) {
    Status st = encode(nullptr);
    if (!st.is_ok()) fail(st);
  }
  for (RungWorker* c : children_) c->close();
}

Status RungWorker::handle(RungFrame& item) {
  AVFrame* in = item.frame.get();
  if (item.new_size) SIGMA_RETURN_IF_ERROR(apply_resize());
  if (rung_.half_fps && !item.keep_at_half_rate) return {};
  SIGMA_RETURN_IF_ERROR(follow_shed_state(item.keyframe));
  // A shed rung that feeds no other rung has nothing left to do.
  if (!encoding_ && children_.empty()) return {};
  // A frame that does not advance time would upset x264's rate control
  // and the muxer; the decoder side already drops most of them.
  if (in->pts != AV_NOPTS_VALUE && in->pts <= last_pts_) return {};
  last_pts_ = in->pts;
  SIGMA_ASSIGN_OR_RETURN(av::FramePtr out, scale(in));
  // Only Sigma's schedule decides keyframes: the decoder's picture types
  // must not leak into the encoder.
  out->pict_type = item.keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  out->key_frame = item.keyframe;
  for (RungWorker* c : children_) {
    av::FramePtr ref = av::make_frame();
    if (!ref || av_frame_ref(ref.get(), out.get()) < 0) return internal_error("out of memory passing a frame on");
    c->push(RungFrame{std::move(ref), item.keyframe, item.keep_at_half_rate, item.new_size});
  }
  if (!encoding_) return {};
  if (test_delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(test_delay_ms_));
  return encode(out.get());
}

void RungWorker::resize(const Rung& r) {
  std::lock_guard lock(mu_);
  pending_size_ = r;
}

Status RungWorker::apply_resize() {
  std::optional<Rung> next;
  {
    std::lock_guard lock(mu_);
    next.swap(pending_size_);
  }
  if (!next || (next->width == rung_.width && next->height == rung_.height)) return {};
  spdlog::info("rung {}: now {}x{}", configured_.label(), next->width, next->height);
  rung_ = *next;
  sws_.reset();
  if (!encoding_) return {};  // a shed rung opens its encoder when it comes back
  // x264 cannot change size in place: the old encoder's last frames go
  // out, a new one starts on this (key)frame. Same delay, so dts still rise.
  SIGMA_RETURN_IF_ERROR(encode(nullptr));
  SIGMA_ASSIGN_OR_RETURN(enc_, open_rung_encoder(rung_, es_));
  return {};
}

Status RungWorker::follow_shed_state(bool keyframe) {
  bool wanted = !shed_.load();
  if (wanted == encoding_) return {};
  if (!wanted) {
    encoding_ = false;
    return encode(nullptr);  // what the encoder holds still goes out
  }
  // A flushed encoder cannot start again: open a new one, on a keyframe of
  // the schedule so the stream resumes aligned with the other rungs.
  if (!keyframe) return {};
  SIGMA_ASSIGN_OR_RETURN(enc_, open_rung_encoder(rung_, es_));
  encoding_ = true;
  spdlog::info("rung {}: encoding again", configured_.label());
  return {};
}

Result<av::FramePtr> RungWorker::scale(const AVFrame* in) {
  if (in->width == rung_.width && in->height == rung_.height && in->format == AV_PIX_FMT_YUV420P) {
    av::FramePtr out = av::make_frame();
    if (!out || av_frame_ref(out.get(), in) < 0) return internal_error("out of memory");
    out->sample_aspect_ratio = AVRational{1, 1};
    return out;
  }
  if (!sws_ || in->width != sws_w_ || in->height != sws_h_ || in->format != sws_fmt_) {
    if (sws_) spdlog::info("rung {}: input now {}x{}, rebuilding scaler", configured_.label(), in->width, in->height);
    sws_.reset(sws_getContext(in->width, in->height, static_cast<AVPixelFormat>(in->format), rung_.width,
                              rung_.height, AV_PIX_FMT_YUV420P, sws_flags_, nullptr, nullptr, nullptr));
    if (!sws_) return data_error("cannot scale " + std::to_string(in->width) + "x" + std::to_string(in->height) +
                                 " " + std::string(av_get_pix_fmt_name(static_cast<AVPixelFormat>(in->format)) ? av_get_pix_fmt_name(static_cast<AVPixelFormat>(in->format)) : "?"));
    sws_w_ = in->width;
    sws_h_ = in->height;
    sws_fmt_ = in->format;
  }
  SIGMA_ASSIGN_OR_RETURN(av::FramePtr out, pool_.get(rung_.width, rung_.height, AV_PIX_FMT_YUV420P));
  sws_scale(sws_.get(), in->data, in->linesize, 0, in->height, out->data, out->linesize);
  av_frame_copy_props(out.get(), in);
  out->sample_aspect_ratio = AVRational{1, 1};
  return out;
}

Status RungWorker::encode(const AVFrame* frame) {
  return av::encode(enc_.get(), frame, pkt_.get(),
                    [&](AVPacket* p) { return mux_.write(stream_, p, enc_->time_base); });
}

}  // namespace sigma::transcode

#include "transcode/rung_worker.h"

#include "av/codec_loop.h"

extern "C" {
#include <libavutil/pixdesc.h>
}
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

RungWorker::RungWorker(Rung rung, av::CodecPtr enc, TsMuxer& mux, int stream, int sws_flags)
    : rung_(std::move(rung)), enc_(std::move(enc)), mux_(mux), stream_(stream), sws_flags_(sws_flags) {}

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
  if (status_.is_ok()) status_ = st.wrap("rung " + rung_.label());
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
  if (!failed_.load() && !encoder_flushed_ && enc_) {
    Status st = encode(nullptr);
    if (!st.is_ok()) fail(st);
  }
  for (RungWorker* c : children_) c->close();
}

Status RungWorker::handle(RungFrame& item) {
  AVFrame* in = item.frame.get();
  if (rung_.half_fps && !item.keep_at_half_rate) return {};
  // A shed rung that feeds no other rung has nothing left to do.
  if (encoder_flushed_ && children_.empty()) return {};
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
    c->push(RungFrame{std::move(ref), item.keyframe, item.keep_at_half_rate});
  }
  if (!enc_ || encoder_flushed_) return {};
  if (shed_.load()) {
    encoder_flushed_ = true;
    return encode(nullptr);
  }
  return encode(out.get());
}

Result<av::FramePtr> RungWorker::scale(const AVFrame* in) {
  av::FramePtr out = av::make_frame();
  if (!out) return internal_error("out of memory");
  if (in->width == rung_.width && in->height == rung_.height && in->format == AV_PIX_FMT_YUV420P) {
    if (av_frame_ref(out.get(), in) < 0) return internal_error("out of memory");
    out->sample_aspect_ratio = AVRational{1, 1};
    return out;
  }
  if (!sws_ || in->width != sws_w_ || in->height != sws_h_ || in->format != sws_fmt_) {
    if (sws_) spdlog::info("rung {}: input now {}x{}, rebuilding scaler", rung_.label(), in->width, in->height);
    sws_.reset(sws_getContext(in->width, in->height, static_cast<AVPixelFormat>(in->format), rung_.width,
                              rung_.height, AV_PIX_FMT_YUV420P, sws_flags_, nullptr, nullptr, nullptr));
    if (!sws_) return data_error("cannot scale " + std::to_string(in->width) + "x" + std::to_string(in->height) +
                                 " " + std::string(av_get_pix_fmt_name(static_cast<AVPixelFormat>(in->format)) ? av_get_pix_fmt_name(static_cast<AVPixelFormat>(in->format)) : "?"));
    sws_w_ = in->width;
    sws_h_ = in->height;
    sws_fmt_ = in->format;
  }
  out->width = rung_.width;
  out->height = rung_.height;
  out->format = AV_PIX_FMT_YUV420P;
  int r = av_frame_get_buffer(out.get(), 0);
  if (r < 0) return av::av_status(r, "allocate a scaled frame");
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

#include "av/push_output.h"

#include "base/log.h"
#include "base/push_url.h"
#include "base/time.h"

namespace sigma::av {

int PushOutput::interrupt(void* opaque) {
  auto* self = static_cast<PushOutput*>(opaque);
  if (self->opts_.abort && self->opts_.abort->load()) return 1;
  if (monotonic_ms() > self->deadline_ms_.load()) {
    self->timed_out_ = true;
    return 1;
  }
  return 0;
}

void PushOutput::arm(int64_t timeout_ms) {
  timed_out_ = false;
  deadline_ms_ = monotonic_ms() + timeout_ms;
}

Status PushOutput::open(const std::string& url, const std::vector<const AVCodecParameters*>& streams,
                        const PushOptions& opts) {
  close();
  opts_ = opts;
  shown_ = redact_url(url);
  SIGMA_ASSIGN_OR_RETURN(PushUrl u, parse_push_url(url));
  const char* format = u.kind == PushKind::kFlv ? "flv" : "mpegts";
  AVFormatContext* raw = nullptr;
  int r = avformat_alloc_output_context2(&raw, nullptr, format, nullptr);
  if (r < 0) return av_status(r, "create " + std::string(format) + " muxer");
  ctx_.reset(raw);
  ctx_->interrupt_callback.callback = &PushOutput::interrupt;
  ctx_->interrupt_callback.opaque = this;
  // FLV over RTMP is one message per packet: no reason to hold bytes back.
  if (u.kind == PushKind::kFlv) ctx_->flags |= AVFMT_FLAG_FLUSH_PACKETS;
  for (const AVCodecParameters* par : streams) {
    AVStream* st = avformat_new_stream(ctx_.get(), nullptr);
    if (!st) return internal_error("out of memory adding an output stream");
    r = avcodec_parameters_copy(st->codecpar, par);
    if (r < 0) return av_status(r, "copy stream parameters");
    st->codecpar->codec_tag = 0;
    st->time_base = AVRational{1, 1000};
  }
  AVDictionary* o = nullptr;
  if (u.kind == PushKind::kFlv) {
    av_dict_set(&o, "rtmp_live", "live", 0);
    av_dict_set(&o, "tcp_nodelay", "1", 0);
  } else {
    // libsrt's own connect timeout (microseconds); the interrupt callback
    // bounds it too.
    av_dict_set(&o, "connect_timeout", std::to_string(opts.connect_timeout_ms * 1000).c_str(), 0);
  }
  arm(opts.connect_timeout_ms);
  r = avio_open2(&ctx_->pb, url.c_str(), AVIO_FLAG_WRITE, &ctx_->interrupt_callback, &o);
  av_dict_free(&o);
  if (r < 0) {
    std::string why = timed_out_ ? "no answer within " + std::to_string(opts.connect_timeout_ms) + " ms"
                                 : error_string(r);
    ctx_.reset();
    return system_error("connect " + shown_ + ": " + why);
  }
  AVDictionary* mo = nullptr;
  if (u.kind == PushKind::kFlv) av_dict_set(&mo, "flvflags", "no_duration_filesize", 0);
  else av_dict_set(&mo, "mpegts_flags", "resend_headers", 0);
  r = avformat_write_header(ctx_.get(), &mo);
  av_dict_free(&mo);
  if (r < 0) {
    std::string why = timed_out_ ? "timed out" : error_string(r);
    close();
    return system_error("start " + std::string(format) + " to " + shown_ + ": " + why);
  }
  bytes_ = 0;
  return {};
}

Status PushOutput::write(int stream, AVPacket* pkt, AVRational tb) {
  if (!ctx_ || stream < 0 || stream >= int(ctx_->nb_streams)) {
    av_packet_unref(pkt);
    return {};
  }
  pkt->stream_index = stream;
  av_packet_rescale_ts(pkt, tb, ctx_->streams[stream]->time_base);
  size_t size = size_t(pkt->size);
  arm(opts_.write_timeout_ms);
  int r = av_write_frame(ctx_.get(), pkt);
  av_packet_unref(pkt);
  if (r < 0) {
    std::string why = timed_out_ ? "write stalled for " + std::to_string(opts_.write_timeout_ms) + " ms"
                                 : error_string(r);
    return system_error("push to " + shown_ + ": " + why);
  }
  if (ctx_->pb && ctx_->pb->error < 0) return system_error("push to " + shown_ + ": " + error_string(ctx_->pb->error));
  bytes_ += size;
  return {};
}

Status PushOutput::finish() {
  if (!ctx_) return {};
  arm(opts_.write_timeout_ms);
  int r = av_write_trailer(ctx_.get());
  close();
  if (r < 0) return system_error("end push to " + shown_ + ": " + error_string(r));
  return {};
}

void PushOutput::close() {
  if (!ctx_) return;
  // Closing may send (RTMP deleteStream): bounded like a write.
  arm(1000);
  ctx_.reset();
}

}  // namespace sigma::av

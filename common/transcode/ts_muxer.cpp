#include "transcode/ts_muxer.h"

#include "base/log.h"

namespace sigma::transcode {

Status TsMuxer::open(const std::string& url) {
  url_ = url;
  std::string target = url == "-" ? "pipe:1" : url;
  AVFormatContext* raw = nullptr;
  int r = avformat_alloc_output_context2(&raw, nullptr, "mpegts", target.c_str());
  if (r < 0) return av::av_status(r, "create MPEG-TS output");
  ctx_.reset(raw);
  r = avio_open2(&ctx_->pb, target.c_str(), AVIO_FLAG_WRITE, nullptr, nullptr);
  if (r < 0) {
    std::string msg = "open output " + redact_url(url) + ": " + av::error_string(r);
    // A path that cannot be written as given is a configuration error.
    bool usage = r == AVERROR(ENOENT) || r == AVERROR(EACCES) || r == AVERROR(EISDIR) || r == AVERROR(ENOTDIR) ||
                 r == AVERROR_PROTOCOL_NOT_FOUND;
    return usage ? usage_error(msg) : system_error(msg);
  }
  return {};
}

Result<int> TsMuxer::add_stream(const AVCodecContext* enc) {
  AVStream* st = avformat_new_stream(ctx_.get(), nullptr);
  if (!st) return internal_error("out of memory adding an output stream");
  int r = avcodec_parameters_from_context(st->codecpar, enc);
  if (r < 0) return av::av_status(r, "output stream parameters");
  st->time_base = AVRational{1, 90000};
  last_dts_.push_back(INT64_MIN);
  return st->index;
}

Result<int> TsMuxer::add_stream(const AVCodecParameters* par, AVRational) {
  AVStream* st = avformat_new_stream(ctx_.get(), nullptr);
  if (!st) return internal_error("out of memory adding an output stream");
  int r = avcodec_parameters_copy(st->codecpar, par);
  if (r < 0) return av::av_status(r, "output stream parameters");
  st->codecpar->codec_tag = 0;
  st->time_base = AVRational{1, 90000};
  last_dts_.push_back(INT64_MIN);
  return st->index;
}

Status TsMuxer::start(int64_t max_interleave_us) {
  ctx_->max_interleave_delta = max_interleave_us;
  // A pipe reader (the packager) should see each packet as it is muxed,
  // not when a 32 KiB buffer fills.
  ctx_->flags |= AVFMT_FLAG_FLUSH_PACKETS;
  ctx_->flush_packets = 1;
  // One PES per audio frame and no mux delay (see ingest/ts_muxer.cpp).
  ctx_->max_delay = 0;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "pes_payload_size", "0", 0);
  int r = avformat_write_header(ctx_.get(), &opts);
  av_dict_free(&opts);
  if (r < 0) return av::av_status(r, "write MPEG-TS header to " + redact_url(url_));
  started_ = true;
  return {};
}

Status TsMuxer::write(int stream, AVPacket* pkt, AVRational tb) {
  std::lock_guard lock(mu_);
  if (failed_) {
    av_packet_unref(pkt);
    return system_error("output " + redact_url(url_) + " already failed");
  }
  AVStream* st = ctx_->streams[stream];
  av_packet_rescale_ts(pkt, tb, st->time_base);
  pkt->stream_index = stream;
  if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
  int64_t& last = last_dts_[stream];
  if (pkt->dts != AV_NOPTS_VALUE && last != INT64_MIN && pkt->dts <= last) {
    spdlog::debug("stream {}: dts {} after {}, nudged", stream, pkt->dts, last);
    pkt->dts = last + 1;
    if (pkt->pts != AV_NOPTS_VALUE && pkt->pts < pkt->dts) pkt->pts = pkt->dts;
  }
  if (pkt->dts != AV_NOPTS_VALUE) last = pkt->dts;
  int r = av_interleaved_write_frame(ctx_.get(), pkt);
  if (r == AVERROR_INVALIDDATA || r == AVERROR(EINVAL)) {
    // The muxer refused one packet (say, audio that is not ADTS): drop it
    // and keep the channel on air; only I/O errors end the output.
    if (dropped_++ % 100 == 0)
      spdlog::warn("muxer refused a packet of stream {} ({} so far): {}", stream, dropped_, av::error_string(r));
    av_packet_unref(pkt);
    return {};
  }
  if (r < 0) {
    failed_ = true;
    return system_error("write to " + redact_url(url_) + ": " + av::error_string(r));
  }
  return {};
}

Status TsMuxer::finish() {
  std::lock_guard lock(mu_);
  if (!started_ || failed_) return {};
  int r = av_write_trailer(ctx_.get());
  if (r < 0) return system_error("finish output " + redact_url(url_) + ": " + av::error_string(r));
  if (ctx_->pb) avio_flush(ctx_->pb);
  return {};
}

}  // namespace sigma::transcode

#include "av/ts_muxer.h"

#include "base/log.h"

namespace sigma::av {

namespace {
constexpr AVRational kTb90k{1, 90000};
}

int TsMuxer::write_cb(void* opaque, uint8_t* buf, int size) {
  auto* self = static_cast<TsMuxer*>(opaque);
  if (size > 0) self->sink_(buf, size_t(size));
  return size;
}

Status TsMuxer::alloc_context() {
  ctx_.reset();
  io_.reset();
  last_dts_.clear();
  started_ = failed_ = false;
  AVFormatContext* raw = nullptr;
  int r = avformat_alloc_output_context2(&raw, nullptr, "mpegts", nullptr);
  if (r < 0) return av_status(r, "create MPEG-TS muxer");
  ctx_.reset(raw);
  return {};
}

Status TsMuxer::open(const std::string& url) {
  SIGMA_RETURN_IF_ERROR(alloc_context());
  url_ = url;
  std::string target = url == "-" ? "pipe:1" : url;
  int r = avio_open2(&ctx_->pb, target.c_str(), AVIO_FLAG_WRITE, nullptr, nullptr);
  if (r < 0) {
    ctx_.reset();
    std::string msg = "open output " + redact_url(url) + ": " + error_string(r);
    // A path that cannot be written as given is a configuration error.
    bool usage = r == AVERROR(ENOENT) || r == AVERROR(EACCES) || r == AVERROR(EISDIR) || r == AVERROR(ENOTDIR) ||
                 r == AVERROR_PROTOCOL_NOT_FOUND;
    return usage ? usage_error(msg) : system_error(msg);
  }
  return {};
}

Status TsMuxer::open(Sink sink) {
  SIGMA_RETURN_IF_ERROR(alloc_context());
  url_.clear();
  sink_ = std::move(sink);
  // 7 TS packets: one SRT/UDP datagram's worth; the muxer only writes
  // whole 188-byte packets, so every callback stays packet aligned.
  constexpr int kBuf = 188 * 7 * 4;
  auto* buf = static_cast<uint8_t*>(av_malloc(kBuf));
  if (!buf) return internal_error("out of memory");
  io_.reset(avio_alloc_context(buf, kBuf, 1, this, nullptr, &TsMuxer::write_cb, nullptr));
  if (!io_) {
    av_free(buf);
    return internal_error("out of memory");
  }
  io_->seekable = 0;
  ctx_->pb = io_.get();
  ctx_->flags |= AVFMT_FLAG_CUSTOM_IO;
  return {};
}

Result<AVStream*> TsMuxer::new_stream() {
  if (!ctx_ || started_) return internal_error("MPEG-TS muxer: streams are added after open() and before start()");
  AVStream* st = avformat_new_stream(ctx_.get(), nullptr);
  if (!st) return internal_error("out of memory adding an output stream");
  st->time_base = kTb90k;
  last_dts_.push_back(AV_NOPTS_VALUE);
  return st;
}

Result<int> TsMuxer::add_stream(const AVCodecParameters* par) {
#if LIBAVFORMAT_VERSION_MAJOR < 61
  // Older muxers write AV1 as an opaque data stream nobody can decode.
  if (par->codec_id == AV_CODEC_ID_AV1)
    return data_error("AV1 cannot be carried in MPEG-TS by this FFmpeg (libavformat " LIBAVFORMAT_IDENT ")");
#endif
  // 0 is an explicit "no"; mpegts mostly answers "don't know" (< 0).
  if (avformat_query_codec(ctx_->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) == 0)
    return data_error(std::string("codec ") + avcodec_get_name(par->codec_id) +
                      " cannot be carried in MPEG-TS by this FFmpeg");
  SIGMA_ASSIGN_OR_RETURN(AVStream * st, new_stream());
  int r = avcodec_parameters_copy(st->codecpar, par);
  if (r < 0) return av_status(r, "copy codec parameters");
  st->codecpar->codec_tag = 0;
  return st->index;
}

Result<int> TsMuxer::add_stream(const AVCodecContext* enc) {
  SIGMA_ASSIGN_OR_RETURN(AVStream * st, new_stream());
  int r = avcodec_parameters_from_context(st->codecpar, enc);
  if (r < 0) return av_status(r, "output stream parameters");
  return st->index;
}

Status TsMuxer::start(const TsMuxOptions& opts) {
  if (!ctx_) return internal_error("MPEG-TS muxer started before open()");
  if (ctx_->nb_streams == 0) return data_error("no audio or video stream to mux");
  opts_ = opts;
  ctx_->max_interleave_delta = opts.max_interleave_us;
  // A pipe reader (the packager) should see each packet as it is muxed,
  // not when a buffer fills: latency over syscalls.
  ctx_->flags |= AVFMT_FLAG_FLUSH_PACKETS;
  ctx_->flush_packets = 1;
  // One PES per audio frame and no mux delay: the default packs ~0.2-0.4 s
  // of audio per PES, which the packager must wait for before closing a
  // 1/3 s LL-HLS part.
  ctx_->max_delay = 0;
  AVDictionary* dict = nullptr;
  av_dict_set(&dict, "pes_payload_size", "0", 0);
  if (opts.initial_discontinuity) av_dict_set(&dict, "mpegts_flags", "initial_discontinuity", 0);
  int r = avformat_write_header(ctx_.get(), &dict);
  av_dict_free(&dict);
  if (r < 0) return av_status(r, url_.empty() ? "start MPEG-TS muxer" : "write MPEG-TS header to " + redact_url(url_));
  std::lock_guard lock(mu_);
  started_ = true;
  return {};
}

Status TsMuxer::write(int stream, AVPacket* pkt, AVRational tb) {
  std::lock_guard lock(mu_);
  if (!started_ || stream < 0 || stream >= int(ctx_->nb_streams)) {
    av_packet_unref(pkt);
    return {};
  }
  if (failed_) {
    av_packet_unref(pkt);
    return system_error("output " + redact_url(url_) + " already failed");
  }
  AVStream* st = ctx_->streams[stream];
  av_packet_rescale_ts(pkt, tb, st->time_base);
  pkt->stream_index = stream;
  if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
  int64_t& last = last_dts_[stream];
  if (pkt->dts != AV_NOPTS_VALUE && last != AV_NOPTS_VALUE && pkt->dts <= last) {
    if (opts_.drop_regression_over > 0 && last - pkt->dts > opts_.drop_regression_over) {
      ++dropped_;
      av_packet_unref(pkt);
      return {};
    }
    spdlog::debug("stream {}: dts {} after {}, nudged", stream, pkt->dts, last);
    pkt->dts = last + 1;
  }
  if (pkt->pts != AV_NOPTS_VALUE && pkt->dts != AV_NOPTS_VALUE && pkt->pts < pkt->dts) pkt->pts = pkt->dts;
  if (pkt->dts != AV_NOPTS_VALUE) last = pkt->dts;
  int r = opts_.max_interleave_us > 0 ? av_interleaved_write_frame(ctx_.get(), pkt) : av_write_frame(ctx_.get(), pkt);
  av_packet_unref(pkt);
  if (r >= 0) return {};
  if (opts_.drop_refused && (r == AVERROR_INVALIDDATA || r == AVERROR(EINVAL))) {
    if (dropped_++ % 100 == 0)
      spdlog::warn("muxer refused a packet of stream {} ({} so far): {}", stream, dropped_, error_string(r));
    return {};
  }
  if (!io_) {
    // A callback cannot fail; a file or pipe that fails once (EPIPE,
    // ENOSPC) is done for.
    failed_ = true;
    return system_error("write to " + redact_url(url_) + ": " + error_string(r));
  }
  return av_status(r, "mux MPEG-TS packet");
}

Status TsMuxer::finish() {
  std::lock_guard lock(mu_);
  if (!ctx_) return {};
  Status st;
  if (started_ && !failed_) {
    int r = av_write_trailer(ctx_.get());
    if (r < 0) st = io_ ? av_status(r, "finish MPEG-TS muxer")
                        : system_error("finish output " + redact_url(url_) + ": " + error_string(r));
    else if (ctx_->pb) avio_flush(ctx_->pb);
  }
  ctx_.reset();
  io_.reset();
  started_ = false;
  return st;
}

uint64_t TsMuxer::dropped_packets() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace sigma::av

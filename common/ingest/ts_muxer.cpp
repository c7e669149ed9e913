#include "ingest/ts_muxer.h"

#include "base/log.h"

namespace sigma::ingest {

int TsMuxer::write_cb(void* opaque, uint8_t* buf, int size) {
  auto* self = static_cast<TsMuxer*>(opaque);
  if (size > 0) self->sink_(buf, size_t(size));
  return size;
}

Status TsMuxer::open(const std::vector<const AVCodecParameters*>& streams, Sink sink) {
  if (streams.empty()) return data_error("no audio or video stream to mux");
  sink_ = std::move(sink);
  AVFormatContext* raw = nullptr;
  int r = avformat_alloc_output_context2(&raw, nullptr, "mpegts", nullptr);
  if (r < 0) return av::av_status(r, "create MPEG-TS muxer");
  ctx_.reset(raw);
  for (const auto* par : streams) {
#if LIBAVFORMAT_VERSION_MAJOR < 61
    // Older muxers write AV1 as an opaque data stream nobody can decode.
    if (par->codec_id == AV_CODEC_ID_AV1)
      return data_error("AV1 cannot be carried in MPEG-TS by this FFmpeg (libavformat " LIBAVFORMAT_IDENT ")");
#endif
    // 0 is an explicit "no"; mpegts mostly answers "don't know" (< 0).
    if (avformat_query_codec(ctx_->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) == 0)
      return data_error(std::string("codec ") + avcodec_get_name(par->codec_id) +
                        " cannot be carried in MPEG-TS by this FFmpeg");
    AVStream* st = avformat_new_stream(ctx_.get(), nullptr);
    if (!st) return internal_error("out of memory");
    r = avcodec_parameters_copy(st->codecpar, par);
    if (r < 0) return av::av_status(r, "copy codec parameters");
    st->codecpar->codec_tag = 0;
    st->time_base = {1, 90000};
  }
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
  ctx_->flush_packets = 1;  // each frame leaves at once: latency over syscalls
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "mpegts_flags", "initial_discontinuity", 0);
  // One PES per audio frame and no mux delay: the default packs ~0.2-0.4 s
  // of audio per PES, which the packager must wait for before closing a
  // 1/3 s LL-HLS part.
  av_dict_set(&opts, "pes_payload_size", "0", 0);
  ctx_->max_delay = 0;
  r = avformat_write_header(ctx_.get(), &opts);
  av_dict_free(&opts);
  if (r < 0) return av::av_status(r, "start MPEG-TS muxer");
  header_written_ = true;
  last_dts_.assign(streams.size(), AV_NOPTS_VALUE);
  return {};
}

Status TsMuxer::write(int index, AVPacket* pkt, AVRational tb) {
  if (!ctx_ || index < 0 || index >= int(ctx_->nb_streams)) {
    av_packet_unref(pkt);
    return {};
  }
  AVStream* st = ctx_->streams[index];
  pkt->stream_index = index;
  av_packet_rescale_ts(pkt, tb, st->time_base);
  int64_t& last = last_dts_[index];
  if (pkt->dts != AV_NOPTS_VALUE && last != AV_NOPTS_VALUE && pkt->dts <= last) {
    if (last - pkt->dts > 90000) {
      ++dropped_;
      av_packet_unref(pkt);
      return {};
    }
    pkt->dts = last + 1;
  }
  if (pkt->pts != AV_NOPTS_VALUE && pkt->dts != AV_NOPTS_VALUE && pkt->pts < pkt->dts) pkt->pts = pkt->dts;
  if (pkt->dts != AV_NOPTS_VALUE) last = pkt->dts;
  int r = av_write_frame(ctx_.get(), pkt);
  av_packet_unref(pkt);
  if (r < 0) return av::av_status(r, "mux MPEG-TS packet");
  return {};
}

Status TsMuxer::finish() {
  if (!ctx_) return {};
  Status st;
  if (header_written_) {
    int r = av_write_trailer(ctx_.get());
    if (r < 0) st = av::av_status(r, "finish MPEG-TS muxer");
  }
  ctx_.reset();
  io_.reset();
  header_written_ = false;
  return st;
}

}  // namespace sigma::ingest

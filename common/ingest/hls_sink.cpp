#include "ingest/hls_sink.h"

#include <chrono>

#include "base/log.h"

namespace sigma::ingest {

namespace {
int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Picture size from a sequence header's parameter sets (Annex B). The
// H.264 parser reads it from the SPS alone (and complains that there is no
// picture: its context speaks at debug); the HEVC parser waits for a slice,
// but the HEVC decoder exports it when it opens.
// (package::probe_dimensions does the same on keyframes; a log_level_offset
// parameter there would make the H.264 half of this go.)
bool sps_dimensions(const AVCodecParameters* par, int& width, int& height) {
  if (par->codec_id == AV_CODEC_ID_HEVC) {
    const AVCodec* dec = avcodec_find_decoder(par->codec_id);
    av::CodecPtr c(avcodec_alloc_context3(dec));
    if (!dec || !c || avcodec_parameters_to_context(c.get(), par) < 0) return false;
    c->thread_count = 1;
    c->log_level_offset = AV_LOG_DEBUG - AV_LOG_ERROR;
    if (avcodec_open2(c.get(), dec, nullptr) < 0 || c->width <= 0 || c->height <= 0) return false;
    width = c->width;
    height = c->height;
    return true;
  }
  AVCodecParserContext* parser = av_parser_init(par->codec_id);
  if (!parser) return false;
  av::CodecPtr ctx(avcodec_alloc_context3(nullptr));
  bool ok = false;
  if (ctx) {
    ctx->codec_id = par->codec_id;
    ctx->log_level_offset = AV_LOG_DEBUG - AV_LOG_ERROR;
    uint8_t* out = nullptr;
    int out_size = 0;
    av_parser_parse2(parser, ctx.get(), &out, &out_size, par->extradata, par->extradata_size, AV_NOPTS_VALUE,
                     AV_NOPTS_VALUE, 0);
    av_parser_parse2(parser, ctx.get(), &out, &out_size, nullptr, 0, AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
    int w = parser->width > 0 ? parser->width : ctx->width;
    int h = parser->height > 0 ? parser->height : ctx->height;
    if (w > 0 && h > 0) {
      width = w;
      height = h;
      ok = true;
    }
  }
  av_parser_close(parser);
  return ok;
}

// FLV carries H.264/HEVC as length-prefixed NAL units with avcC/hvcC; the
// packager's in-band parameter set check (and everything it was tested
// with) expects Annex B, as MPEG-TS delivers it.
Result<av::BsfPtr> annexb_filter(const AVCodecParameters* par) {
  const char* name = par->codec_id == AV_CODEC_ID_H264   ? "h264_mp4toannexb"
                     : par->codec_id == AV_CODEC_ID_HEVC ? "hevc_mp4toannexb"
                                                         : nullptr;
  if (!name || par->extradata_size < 1 || par->extradata[0] != 1) return av::BsfPtr();
  const AVBitStreamFilter* f = av_bsf_get_by_name(name);
  if (!f) return internal_error(std::string("bitstream filter ") + name + " missing from libavcodec");
  AVBSFContext* raw = nullptr;
  int r = av_bsf_alloc(f, &raw);
  if (r < 0) return av::av_status(r, "allocate bitstream filter");
  av::BsfPtr bsf(raw);
  r = avcodec_parameters_copy(bsf->par_in, par);
  if (r < 0) return av::av_status(r, "copy codec parameters");
  bsf->time_base_in = AVRational{1, 1000};
  r = av_bsf_init(bsf.get());
  if (r < 0) return av::av_status(r, "read the video sequence header");
  AVCodecParameters* out = bsf->par_out;
  // The SPS, not onMetaData, says what the picture size is.
  int w = 0, h = 0;
  if (out->extradata && sps_dimensions(out, w, h)) {
    out->width = w;
    out->height = h;
  }
  return bsf;
}
}  // namespace

void HlsSink::note_time(int64_t start_us) { max_call_us_ = std::max(max_call_us_, now_us() - start_us); }

Status HlsSink::open(const std::vector<const AVCodecParameters*>& streams) {
  int64_t t0 = now_us();
  streams_.clear();
  std::vector<package::InputStream> in;
  for (const auto* par : streams) {
    Stream s;
    SIGMA_ASSIGN_OR_RETURN(s.bsf, annexb_filter(par));
    in.push_back({s.bsf ? s.bsf->par_out : par, false});
    streams_.push_back(std::move(s));
  }
  broken_ = false;
  open_ = true;
  Status st = packager_.start_input(in, AV_NOPTS_VALUE, "channel " + packager_.params().channel);
  note_time(t0);
  return st;
}

Status HlsSink::feed(int index, AVPacket* pkt) {
  Status st = packager_.write(index, pkt, streams_[size_t(index)].tb);
  if (!st.is_ok()) {
    // What is published stays valid; the session's remaining media is
    // dropped and the next session starts over after a discontinuity.
    packager_.abort();
    broken_ = true;
    spdlog::error("channel {}: HLS output: {}", packager_.params().channel, st.message());
  }
  return st;
}

Status HlsSink::hold(int index, AVPacket* pkt) {
  Stream& s = streams_[size_t(index)];
  if (s.holding) {
    AVPacket* prev = s.held.get();
    if (pkt->dts != AV_NOPTS_VALUE && prev->dts != AV_NOPTS_VALUE && pkt->dts > prev->dts)
      prev->duration = pkt->dts - prev->dts;
    s.holding = false;
    Status st = feed(index, prev);
    if (!st.is_ok()) {
      av_packet_unref(pkt);
      return st;
    }
  }
  av_packet_move_ref(s.held.get(), pkt);
  s.holding = true;
  return {};
}

Status HlsSink::release_held() {
  Status first;
  for (size_t i = 0; i < streams_.size(); ++i) {
    if (!streams_[i].holding) continue;
    streams_[i].holding = false;
    Status st = broken_ ? Status() : feed(int(i), streams_[i].held.get());
    av_packet_unref(streams_[i].held.get());
    if (first.is_ok()) first = st;
  }
  return first;
}

Status HlsSink::write(int index, AVPacket* pkt, AVRational tb) {
  if (!open_ || broken_ || index < 0 || size_t(index) >= streams_.size()) {
    av_packet_unref(pkt);
    return {};
  }
  int64_t t0 = now_us();
  Stream& s = streams_[size_t(index)];
  s.tb = tb;
  Status st;
  if (!s.bsf) {
    st = hold(index, pkt);
  } else {
    int r = av_bsf_send_packet(s.bsf.get(), pkt);
    av_packet_unref(pkt);
    if (r < 0) {
      st = av::av_status(r, "convert video to Annex B");
    } else {
      while (st.is_ok() && (r = av_bsf_receive_packet(s.bsf.get(), out_.get())) >= 0) st = hold(index, out_.get());
      if (st.is_ok() && r != AVERROR(EAGAIN) && r != AVERROR_EOF) st = av::av_status(r, "convert video to Annex B");
    }
  }
  note_time(t0);
  return st;
}

Status HlsSink::finish() {
  if (!open_) return {};
  int64_t t0 = now_us();
  Status st = release_held();
  open_ = false;
  streams_.clear();
  if (!broken_) {
    Status end = packager_.end_input(false);
    if (st.is_ok()) st = end;
  }
  note_time(t0);
  return st;
}

Status HlsSink::close() {
  Status st = open_ ? release_held() : Status();
  open_ = false;
  streams_.clear();
  Status end = packager_.end_input(true);
  return st.is_ok() ? end : st;
}

}  // namespace sigma::ingest

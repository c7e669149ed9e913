#include "package/fmp4_muxer.h"

namespace sigma::package {

namespace {
constexpr int kIoBufferSize = 64 * 1024;

uint32_t be32(const std::string& b, size_t at) {
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(b[at + i])); };
  return u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
}

// libavformat 5.x writes channelcount = 2 into every mp4a sample entry
// (ISO/IEC 14496-12's template value), whatever the audio carries; Apple's
// validator, ffprobe's container view and CHANNELS in the master want the
// real count. The boxes are walked (moov/trak/mdia/minf/stbl/stsd) and the
// count of track n's mp4a set from pars[n].
void patch_channel_counts(std::string& init, const std::vector<const AVCodecParameters*>& pars) {
  size_t track = 0;
  auto walk = [&](auto&& self, size_t from, size_t to) -> void {
    while (from + 8 <= to) {
      uint32_t size = be32(init, from);
      if (size < 8 || from + size > to) return;
      std::string type = init.substr(from + 4, 4);
      if (type == "moov" || type == "mdia" || type == "minf" || type == "stbl") {
        self(self, from + 8, from + size);
      } else if (type == "trak") {
        self(self, from + 8, from + size);
        ++track;
      } else if (type == "stsd") {
        self(self, from + 16, from + size);  // version/flags, entry_count
      } else if (type == "mp4a" && size >= 28 && track < pars.size()) {
        int n = pars[track]->ch_layout.nb_channels;
        if (n > 0 && n < 0x10000) {
          init[from + 24] = static_cast<char>(n >> 8);
          init[from + 25] = static_cast<char>(n & 0xff);
        }
      }
      from += size;
    }
  };
  walk(walk, 0, init.size());
}
}  // namespace

int Fmp4Muxer::on_write(void* opaque, uint8_t* buf, int size) {
  auto* self = static_cast<Fmp4Muxer*>(opaque);
  if (self->capturing_init_) {
    self->init_.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(size));
    return size;
  }
  if (!self->sink_) return size;  // nothing expected outside flush(); drop
  if (!(*self->sink_)(buf, static_cast<size_t>(size))) {
    self->sink_failed_ = true;
    return AVERROR(EIO);
  }
  return size;
}

Fmp4Muxer::~Fmp4Muxer() = default;

Result<std::unique_ptr<Fmp4Muxer>> Fmp4Muxer::open(const std::vector<const AVCodecParameters*>& pars,
                                                   AVRational in_tb) {
  std::unique_ptr<Fmp4Muxer> m(new Fmp4Muxer());
  m->in_tb_ = in_tb;
  AVFormatContext* raw = nullptr;
  int r = avformat_alloc_output_context2(&raw, nullptr, "mp4", nullptr);
  if (r < 0) return av::av_status(r, "create mp4 muxer");
  m->ctx_.reset(raw);
  auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
  if (!buffer) return internal_error("out of memory");
  AVIOContext* io = avio_alloc_context(buffer, kIoBufferSize, 1, m.get(), nullptr, &Fmp4Muxer::on_write, nullptr);
  if (!io) {
    av_free(buffer);
    return internal_error("out of memory");
  }
  io->seekable = 0;
  m->io_.reset(io);
  raw->pb = io;
  raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  // The track converts ADTS to raw AAC itself (the ASC must exist before
  // the empty moov is written); Annex B video the muxer converts inline.
  raw->flags &= ~AVFMT_FLAG_AUTO_BSF;

  bool video = false;
  for (const AVCodecParameters* par : pars) {
    AVStream* st = avformat_new_stream(raw, nullptr);
    if (!st) return internal_error("out of memory");
    r = avcodec_parameters_copy(st->codecpar, par);
    if (r < 0) return av::av_status(r, "copy codec parameters");
    st->codecpar->codec_tag = 0;
    // Apple asks for hvc1 (parameter sets in the sample entry).
    if (par->codec_id == AV_CODEC_ID_HEVC) st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    st->time_base = in_tb;
    video = video || par->codec_type == AVMEDIA_TYPE_VIDEO;
  }

  AVDictionary* opts = nullptr;
  // empty_moov: the header is a complete init segment. frag_custom: we cut
  // fragments. default_base_moof: CMAF. frag_discont: tfdt carries the real
  // decode time of the first sample instead of restarting at zero, so audio
  // and video stay aligned across separately muxed tracks.
  av_dict_set(&opts, "movflags", "frag_custom+empty_moov+default_base_moof+frag_discont+skip_trailer+skip_sidx", 0);
  av_dict_set(&opts, "use_editlist", "0", 0);
  av_dict_set(&opts, "avoid_negative_ts", "disabled", 0);
  if (video) av_dict_set(&opts, "video_track_timescale", "90000", 0);
  m->capturing_init_ = true;
  r = avformat_write_header(raw, &opts);
  av_dict_free(&opts);
  if (r < 0) return av::av_status(r, "write mp4 header");
  avio_flush(io);
  m->capturing_init_ = false;
  if (m->init_.empty()) return internal_error("mp4 muxer wrote no init segment");
  patch_channel_counts(m->init_, pars);
  return m;
}

Status Fmp4Muxer::write(AVPacket* pkt) {
  if (pkt->stream_index < 0 || pkt->stream_index >= static_cast<int>(ctx_->nb_streams)) {
    av_packet_unref(pkt);
    return internal_error("fMP4 sample for a track the muxer does not have");
  }
  AVStream* st = ctx_->streams[pkt->stream_index];
  av_packet_rescale_ts(pkt, in_tb_, st->time_base);
  int r = av_write_frame(ctx_.get(), pkt);
  av_packet_unref(pkt);
  // A sample the muxer refuses is bad media, never a usage error (libav's
  // EINVAL): exit 65, which the supervisor retries, not 100.
  if (r < 0) return Status(ExitCode::kData, av::av_status(r, "mux fMP4 sample").message());
  ++pending_;
  return {};
}

Status Fmp4Muxer::flush(const ByteSink& sink) {
  if (pending_ == 0) return {};
  sink_ = &sink;
  sink_failed_ = false;
  int r = av_write_frame(ctx_.get(), nullptr);
  if (r >= 0) avio_flush(ctx_->pb);
  sink_ = nullptr;
  pending_ = 0;
  if (sink_failed_) {
    // AVIO skips every later write once its error is set: the next
    // fragment (a full disk that has room again) must go through.
    ctx_->pb->error = 0;
    return system_error("write fragment");
  }
  if (r < 0) return av::av_status(r, "flush fMP4 fragment");
  if (ctx_->pb->error < 0) {
    int e = ctx_->pb->error;
    ctx_->pb->error = 0;
    return av::av_status(e, "flush fMP4 fragment");
  }
  return {};
}

}  // namespace sigma::package

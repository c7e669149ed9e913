#include "ingest/hls_sink.h"

#include <chrono>
#include <mutex>

#include "base/log.h"
#include "package/channel_packager.h"
#include "package/param_sets.h"

namespace sigma::ingest {

namespace {
int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Picture size from a sequence header's parameter sets (Annex B). The
// H.264 parser reads it from the SPS alone; the HEVC parser waits for a
// slice, but the HEVC decoder exports it when it opens.
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
  return package::probe_dimensions(par->codec_id, par->extradata, static_cast<size_t>(par->extradata_size), width,
                                   height);
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

struct ParDeleter {
  void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
using ParPtr = std::unique_ptr<AVCodecParameters, ParDeleter>;

// Runs on the packaging thread only, except the atomics and the params
// (constant), which the event loop reads.
struct HlsSink::Core {
  Core(package::PackageParams p, EventWriter& events) : packager(std::move(p), events) {}

  struct Stream {
    av::BsfPtr bsf;  // avcC/hvcC -> Annex B, as the packager gets from MPEG-TS
    AVRational tb{1, 1000};
    // FLV timestamps are whole milliseconds (AAC frames alternate 21 and
    // 22 ms): a packet waits for the next one so that its duration is the
    // true gap, and a fragment never ends past where the next one starts.
    av::PacketPtr held = av::make_packet();
    bool holding = false;
  };

  package::ChannelPackager packager;
  std::vector<Stream> streams;
  av::PacketPtr out = av::make_packet();
  bool broken = false;  // this session failed: drop the rest of it

  std::atomic<int64_t> segments{0}, max_call_us{0}, packager_dropped{0};
  std::atomic<uint64_t> failed_session{0};  // the session whose packaging failed
  std::mutex failure_mu;
  std::string failure;

  void timed(int64_t t0) {
    int64_t d = now_us() - t0;
    if (d > max_call_us.load(std::memory_order_relaxed)) max_call_us = d;
    segments = packager.segments();
    packager_dropped = packager.dropped_packets();
  }
  void fail(uint64_t session, const Status& st) {
    // What is published stays valid; the session's remaining media is
    // dropped and the next session starts over after a discontinuity.
    packager.abort();
    broken = true;
    spdlog::error("channel {}: HLS output: {}", packager.params().channel, st.message());
    std::lock_guard lk(failure_mu);
    failure = st.message();
    failed_session = session;
  }
  Status feed(int index, AVPacket* pkt) { return packager.write(index, pkt, streams[size_t(index)].tb); }
  Status hold(int index, AVPacket* pkt);
  Status release_held();
  void open(uint64_t session, const std::vector<ParPtr>& pars);
  void write(uint64_t session, int index, AVPacket* pkt, AVRational tb);
  void finish(uint64_t session, bool final);
};

Status HlsSink::Core::hold(int index, AVPacket* pkt) {
  Stream& s = streams[size_t(index)];
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

Status HlsSink::Core::release_held() {
  Status first;
  for (size_t i = 0; i < streams.size(); ++i) {
    if (!streams[i].holding) continue;
    streams[i].holding = false;
    Status st = broken ? Status() : feed(int(i), streams[i].held.get());
    av_packet_unref(streams[i].held.get());
    if (first.is_ok()) first = st;
  }
  return first;
}

void HlsSink::Core::open(uint64_t session, const std::vector<ParPtr>& pars) {
  int64_t t0 = now_us();
  streams.clear();
  broken = false;
  std::vector<package::InputStream> in;
  Status st;
  for (const auto& par : pars) {
    Stream s;
    auto bsf = annexb_filter(par.get());
    if (!bsf.is_ok()) {
      st = bsf.status();
      break;
    }
    s.bsf = std::move(*bsf);
    in.push_back({s.bsf ? s.bsf->par_out : par.get(), false});
    streams.push_back(std::move(s));
  }
  if (st.is_ok()) st = packager.start_input(in, AV_NOPTS_VALUE, "channel " + packager.params().channel);
  if (!st.is_ok()) fail(session, st);
  timed(t0);
}

void HlsSink::Core::write(uint64_t session, int index, AVPacket* pkt, AVRational tb) {
  if (broken || index < 0 || size_t(index) >= streams.size()) {
    av_packet_unref(pkt);
    return;
  }
  int64_t t0 = now_us();
  Stream& s = streams[size_t(index)];
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
      while (st.is_ok() && (r = av_bsf_receive_packet(s.bsf.get(), out.get())) >= 0) st = hold(index, out.get());
      if (st.is_ok() && r != AVERROR(EAGAIN) && r != AVERROR_EOF) st = av::av_status(r, "convert video to Annex B");
    }
  }
  if (!st.is_ok()) fail(session, st);
  timed(t0);
}

void HlsSink::Core::finish(uint64_t session, bool final) {
  int64_t t0 = now_us();
  Status st = release_held();
  streams.clear();
  if (!broken || final) {
    Status end = packager.end_input(final);
    if (st.is_ok()) st = end;
  }
  if (!st.is_ok()) fail(session, st);
  timed(t0);
}

HlsSink::HlsSink(package::PackageParams p, EventWriter& events, PackagingThread& worker)
    : core_(std::make_shared<Core>(std::move(p), events)), worker_(worker) {}

HlsSink::~HlsSink() = default;

const std::string& HlsSink::dir() const { return core_->packager.params().out_dir; }
const std::string& HlsSink::mode() const { return core_->packager.params().mode; }
int64_t HlsSink::segments() const { return core_->segments; }
int64_t HlsSink::max_call_us() const { return core_->max_call_us; }
uint64_t HlsSink::dropped_packets() const { return dropped_ + uint64_t(core_->packager_dropped.load()); }

Status HlsSink::open(const std::vector<const AVCodecParameters*>& streams) {
  auto pars = std::make_shared<std::vector<ParPtr>>();
  video_.clear();
  for (const auto* par : streams) {
    ParPtr copy(avcodec_parameters_alloc());
    if (!copy || avcodec_parameters_copy(copy.get(), par) < 0) return internal_error("out of memory");
    pars->push_back(std::move(copy));
    video_.push_back(par->codec_type == AVMEDIA_TYPE_VIDEO);
  }
  ++session_;
  open_ = true;
  resync_ = false;
  worker_.post([core = core_, session = session_, pars] { core->open(session, *pars); }, 0, false);
  return {};
}

Status HlsSink::write(int index, AVPacket* pkt, AVRational tb) {
  if (!open_ || index < 0 || size_t(index) >= video_.size()) {
    av_packet_unref(pkt);
    return {};
  }
  if (core_->failed_session == session_) {
    av_packet_unref(pkt);
    std::lock_guard lk(core_->failure_mu);
    return data_error("HLS output: " + core_->failure);
  }
  bool video = video_[size_t(index)];
  if (resync_) {
    if (!video || !(pkt->flags & AV_PKT_FLAG_KEY)) {
      ++dropped_;
      av_packet_unref(pkt);
      return {};
    }
    resync_ = false;
  }
  // The packet's buffer changes hands without a copy.
  std::shared_ptr<AVPacket> moved(av_packet_alloc(), av::PacketDeleter());
  if (!moved) return internal_error("out of memory");
  av_packet_move_ref(moved.get(), pkt);
  size_t bytes = size_t(moved->size) + sizeof(AVPacket);
  auto task = [core = core_, session = session_, index, tb, moved] { core->write(session, index, moved.get(), tb); };
  if (!worker_.post(std::move(task), bytes, true)) {
    if (!resync_) spdlog::warn("channel {}: packaging thread behind (disk too slow?): dropping to the next keyframe",
                               core_->packager.params().channel);
    ++dropped_;
    resync_ = true;
  }
  return {};
}

Status HlsSink::finish() {
  end_session();
  return {};
}

void HlsSink::end_session() {
  if (!open_) return;
  open_ = false;
  worker_.post([core = core_, session = session_] { core->finish(session, false); }, 0, false);
}

void HlsSink::close() {
  end_session();
  worker_.post([core = core_, session = session_] { core->finish(session, true); }, 0, false);
}

}  // namespace sigma::ingest

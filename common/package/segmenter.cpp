#include "package/segmenter.h"

#include <cmath>
#include <cstring>
#include <deque>

#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"
#include "hls/codec_string.h"
#include "package/fmp4_muxer.h"
#include "package/naming.h"
#include "package/param_sets.h"

namespace sigma::package {

namespace {
constexpr AVRational k90k{1, 90000};
constexpr int64_t kTicks = 90000;
// A backward step this small is a muxer's rounding, not a new timeline:
// the packet is dropped instead of starting a discontinuity.
constexpr int64_t kBackwardTolerance = kTicks / 10;
// A video track this far behind the others has stopped (a rung the
// transcoder shed): muxed audio is no longer written into its files, and
// when it resumes on a keyframe its segment ends where its media ended and
// the hole is listed as EXT-X-GAP segments.
constexpr int64_t kStoppedVideo = kTicks;
// The longest first keyframe interval waited for before the target is
// fixed (x264's default 250 frames at 25 fps is 10 s): an encoder that
// sends keyframes further apart, or only one (intra refresh), gets this
// target and segments cut between keyframes, rather than no playlist.
constexpr int64_t kMaxFirstGop = 12 * kTicks;

int64_t to_ticks(double seconds) { return std::llround(seconds * kTicks); }
double to_seconds(int64_t ticks) { return static_cast<double>(ticks) / kTicks; }

struct ParDeleter {
  void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
using ParPtr = std::unique_ptr<AVCodecParameters, ParDeleter>;

ParPtr copy_par(const AVCodecParameters* src) {
  ParPtr p(avcodec_parameters_alloc());
  if (p && src) avcodec_parameters_copy(p.get(), src);
  return p;
}
}  // namespace

struct Segmenter::Track {
  size_t index = 0;
  std::string name, dir;
  bool video = false;
  bool muxed = false;  // audio carried by the video tracks' files
  ParPtr par;
  std::unique_ptr<Fmp4Muxer> mux;
  std::string init_bytes, init_uri;
  std::string param_sets;  // in-band SPS/PPS last seen on a keyframe

  int64_t msn = 0;
  bool seg_open = false;
  int64_t seg_start = 0, seg_pdt = 0;
  int seg_frames = 0, part_index = 0;
  std::string seg_map;
  bool seg_disc = false;
  bool seg_independent = true;  // opened on a keyframe
  AtomicFile seg_file;
  // The open segment could not be written (a full disk): it is listed as
  // a gap when it ends, and nothing of it is published before.
  bool seg_failed = false;
  bool init_missing = false;   // init_uri's file could not be written
  std::string init_written;    // the newest init file that exists

  bool part_open = false;
  int64_t part_start = 0;
  bool part_independent = false;
  AtomicFile part_file;

  bool pending_disc = false;
  bool waiting_key = true;
  int64_t last_dts = AV_NOPTS_VALUE;
  // Input dts of this track's last packet before a timestamp jump started
  // a discontinuity: packets of the old timeline that arrive after another
  // track saw the jump (TS interleaving) are stragglers, not a second jump.
  int64_t stale_input_dts = AV_NOPTS_VALUE;
  int64_t end_dts = 0;
  int64_t last_delta = 0;
  std::deque<int64_t> cuts;  // segment starts announced by the reference track
};

Segmenter::Segmenter(SegmenterParams p, SegmentListener& listener)
    : p_(std::move(p)), listener_(listener) {
  seg_ticks_ = to_ticks(p_.segment_duration);
  // 1/3 s is not a whole number of ticks' worth of decimals: snap so that
  // ten 30 fps frames make exactly one part.
  double part = p_.part_duration;
  if (part > 0 && std::fabs(part - 1.0 / 3) < 0.002) part = 1.0 / 3;
  chunk_ticks_ = to_ticks(part > 0 ? part : p_.fragment_duration);
  part_limit_ = chunk_ticks_ + to_ticks(kPartSlack);
  gap_ticks_ = to_ticks(p_.max_gap);
  base_target_ = std::max(1, static_cast<int>(std::ceil(p_.segment_duration - 1e-3)));
  target_ = std::max(0, p_.fixed_target);
}

Segmenter::~Segmenter() = default;

size_t Segmenter::add_track(const std::string& name, const AVCodecParameters* par) {
  auto t = std::make_unique<Track>();
  t->index = tracks_.size();
  t->name = name;
  t->dir = p_.out_dir + "/" + name;
  t->video = par->codec_type == AVMEDIA_TYPE_VIDEO;
  t->par = copy_par(par);
  t->msn = p_.first_msn;
  t->pending_disc = p_.first_msn > 0;
  t->waiting_key = t->video;
  if (t->video || tracks_.empty()) ref_ = t->index;
  tracks_.push_back(std::move(t));
  return tracks_.size() - 1;
}

size_t Segmenter::add_muxed_audio(const std::string& name, const AVCodecParameters* par) {
  auto t = std::make_unique<Track>();
  t->index = tracks_.size();
  t->name = name;
  t->muxed = true;
  t->par = copy_par(par);
  muxed_audio_ = t->index;
  tracks_.push_back(std::move(t));
  return tracks_.size() - 1;
}

size_t Segmenter::track_count() const { return tracks_.size(); }

void Segmenter::start_input(const std::vector<const AVCodecParameters*>& pars, int64_t start_us) {
  input_start_ = start_us == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : av_rescale_q(start_us, AV_TIME_BASE_Q, k90k);
  for (size_t i = 0; i < tracks_.size() && i < pars.size(); ++i) {
    Track& t = *tracks_[i];
    if (pars[i]) t.par = copy_par(pars[i]);
    t.mux.reset();
    t.waiting_key = t.video;
    t.last_dts = AV_NOPTS_VALUE;
    t.stale_input_dts = AV_NOPTS_VALUE;  // a new input has no stragglers
    t.cuts.clear();
    if (timeline_started_) t.pending_disc = true;
  }
  offset_set_ = false;
}

int64_t Segmenter::pdt_ms(int64_t dts) const { return wall_base_ms_ + (dts - dts_base_) / 90; }

// Segments cut on the first keyframe at least a segment duration (less
// half a frame) after their start: with a keyframe every gop, they last
// the smallest multiple of gop that reaches it. A frame of headroom
// absorbs the jitter of millisecond timestamps (a 2.002 s GOP keeps a 2 s
// target; 8.334 s ones give 8).
Status Segmenter::settle_target(int64_t gop, int64_t frame) {
  if (target_ > 0) return {};
  int64_t want = seg_ticks_ - frame / 2;
  int64_t n = gop > 0 ? std::max<int64_t>(1, (want + gop - 1) / gop) : 1;
  int64_t expected = gop > 0 ? n * gop + frame : 0;
  int target = std::max(base_target_, static_cast<int>(std::llround(to_seconds(expected))));
  if (target > base_target_)
    spdlog::warn("{}: keyframe interval {:.3f} s gives {:.3f} s segments: EXT-X-TARGETDURATION is {} s, not {} s "
                 "(latency grows with it; a keyframe every {} s or less keeps the mode's target)",
                 p_.label, to_seconds(gop), to_seconds(n * gop), target, base_target_, p_.segment_duration);
  else
    spdlog::debug("{}: keyframe interval {:.3f} s: EXT-X-TARGETDURATION {} s", p_.label, to_seconds(gop), target);
  return fix_target(target);
}

Status Segmenter::settle_target_from_open_segments() {
  if (target_ > 0) return {};
  int64_t longest = 0;
  for (auto& t : tracks_)
    if (t->seg_open) longest = std::max(longest, t->end_dts - t->seg_start);
  return fix_target(std::max(base_target_, static_cast<int>(std::llround(to_seconds(longest)))));
}

// The one place the target is set once measured: the listener hears it
// before any report that depends on it.
Status Segmenter::fix_target(int target) {
  target_ = target;
  return listener_.on_target_duration(target);
}

int64_t Segmenter::max_segment_ticks() const {
  // lround(d) <= target while d < target + 0.5; a millisecond short of it
  // so that the playlist's 5-decimal text cannot round up to the half.
  return to_ticks(target_ + 0.5) - kTicks / 1000;
}

bool Segmenter::video_stopped(int64_t dts) const {
  for (auto& v : tracks_)
    if (v->video && v->seg_open && v->end_dts + kStoppedVideo >= dts) return false;
  return true;
}

Status Segmenter::discontinuity_all(const std::string& why, bool timeline_jump) {
  spdlog::warn("{}: starting a discontinuity", why);
  SIGMA_RETURN_IF_ERROR(settle_target_from_open_segments());
  for (auto& tp : tracks_) {
    Track& t = *tp;
    if (t.seg_open) SIGMA_RETURN_IF_ERROR(close_segment(t, t.end_dts));
    if (timeline_jump) {
      t.stale_input_dts = t.last_dts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : t.last_dts - offset_;
      t.last_dts = AV_NOPTS_VALUE;
    }
    t.mux.reset();
    t.pending_disc = true;
    t.waiting_key = t.video;
    t.cuts.clear();
  }
  return {};
}

bool Segmenter::same_audio_tick(const Track& t, int64_t dts) const {
  if (t.video || t.par->sample_rate <= 0 || t.last_dts == AV_NOPTS_VALUE) return false;
  AVRational audio_tb{1, t.par->sample_rate};
  return av_rescale_q(dts, k90k, audio_tb) <= av_rescale_q(t.last_dts, k90k, audio_tb);
}

Status Segmenter::write(size_t ti, AVPacket* pkt, AVRational tb) {
  Track& t = *tracks_[ti];
  if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
  if (pkt->dts == AV_NOPTS_VALUE) {
    ++dropped_;
    av_packet_unref(pkt);
    return {};
  }
  if (pkt->pts == AV_NOPTS_VALUE) pkt->pts = pkt->dts;
  av_packet_rescale_ts(pkt, tb, k90k);
  if (pkt->duration <= 0) {
    if (t.last_delta > 0) pkt->duration = t.last_delta;
    else if (!t.video && t.par->sample_rate > 0 && t.par->frame_size > 0)
      pkt->duration = av_rescale(t.par->frame_size, kTicks, t.par->sample_rate);
    else pkt->duration = t.video ? 3000 : 1920;
  }

  if (!offset_set_) {
    int64_t first = input_start_ != AV_NOPTS_VALUE && input_start_ <= pkt->dts ? input_start_ : pkt->dts;
    offset_ = timeline_started_ ? timeline_end_ - first : 0;
    offset_set_ = true;
    timeline_started_ = true;
    wall_base_ms_ = unix_ms_now();
    dts_base_ = pkt->dts + offset_;
  }
  if (t.last_dts == AV_NOPTS_VALUE && t.stale_input_dts != AV_NOPTS_VALUE) {
    int64_t since = pkt->dts - t.stale_input_dts;
    if (since > -kBackwardTolerance && since <= gap_ticks_) {
      ++dropped_;
      spdlog::debug("{}: packet of the timeline before the jump dropped", t.name);
      av_packet_unref(pkt);
      return {};
    }
    t.stale_input_dts = AV_NOPTS_VALUE;
  }
  int64_t dts = pkt->dts + offset_;
  if (t.last_dts != AV_NOPTS_VALUE) {
    // A track that jumps forward to where the other tracks already are has
    // a hole (a shed rung coming back), not a new timeline.
    bool hole = dts > t.last_dts + gap_ticks_ && dts <= timeline_end_ + kBackwardTolerance;
    if (dts < t.last_dts - kBackwardTolerance || (dts > t.last_dts + gap_ticks_ && !hole)) {
      SIGMA_RETURN_IF_ERROR(
          discontinuity_all(fmt::format("{}: timestamp jump of {:.3f} s", t.name, to_seconds(dts - t.last_dts)), true));
      offset_ = timeline_end_ - pkt->dts;
      wall_base_ms_ = unix_ms_now();
      dts_base_ = timeline_end_;
      dts = pkt->dts + offset_;
    } else if (dts <= t.last_dts || same_audio_tick(t, dts)) {
      // An audio frame 1/90000 s after the last one (where a looped or
      // spliced input joins) lands on the same tick of the mp4 track's
      // timescale, the sample rate: the muxer would refuse it.
      ++dropped_;
      spdlog::debug("{}: non-increasing dts dropped", t.name);
      av_packet_unref(pkt);
      return {};
    }
  }
  pkt->dts = dts;
  pkt->pts += offset_;
  bool key = !t.video || (pkt->flags & AV_PKT_FLAG_KEY);
  // Without video the target is the mode's; with it, it waits for the
  // reference track's second keyframe (publishers' GOPs vary: 1-10 s).
  if (target_ == 0 && !tracks_[ref_]->video) SIGMA_RETURN_IF_ERROR(fix_target(base_target_));

  if (t.video && t.waiting_key) {
    if (!key) {
      ++dropped_;
      av_packet_unref(pkt);
      return {};
    }
    t.waiting_key = false;
  }

  if (t.video && key) {
    std::string ps = extract_param_sets(t.par->codec_id, pkt->data, static_cast<size_t>(pkt->size));
    if (!ps.empty() && !t.param_sets.empty() && ps != t.param_sets) {
      // Every variant takes the discontinuity (a ladder's rungs change
      // together, one keyframe after another): a player switching between
      // them matches them by discontinuity sequence.
      spdlog::warn("{}: codec parameters changed: new init segment", t.name);
      if (!t.pending_disc || t.seg_open) SIGMA_RETURN_IF_ERROR(discontinuity_all(t.name + ": new parameters", false));
      t.waiting_key = false;  // this keyframe starts it
      t.mux.reset();
      av_freep(&t.par->extradata);
      t.par->extradata = static_cast<uint8_t*>(av_mallocz(ps.size() + AV_INPUT_BUFFER_PADDING_SIZE));
      if (!t.par->extradata) return internal_error("out of memory");
      std::memcpy(t.par->extradata, ps.data(), ps.size());
      t.par->extradata_size = static_cast<int>(ps.size());
      probe_dimensions(t.par->codec_id, pkt->data, static_cast<size_t>(pkt->size), t.par->width,
                       t.par->height);
      t.pending_disc = true;
    }
    if (!ps.empty()) t.param_sets = std::move(ps);
  }

  if (t.muxed) return write_muxed_audio(t, pkt);

  if (target_ == 0 && ti == ref_ && (key || (first_key_dts_ != AV_NOPTS_VALUE && dts - first_key_dts_ >= kMaxFirstGop))) {
    if (first_key_dts_ == AV_NOPTS_VALUE || dts <= first_key_dts_) {
      first_key_dts_ = dts;
    } else if (key) {
      SIGMA_RETURN_IF_ERROR(settle_target(dts - first_key_dts_, std::max<int64_t>(t.last_delta, pkt->duration)));
    } else {
      int target = std::max(base_target_, static_cast<int>(kMaxFirstGop / kTicks));
      spdlog::warn("{}: no second keyframe within {} s: EXT-X-TARGETDURATION is {} s", p_.label,
                   kMaxFirstGop / kTicks, target);
      SIGMA_RETURN_IF_ERROR(fix_target(target));
    }
  }

  if (t.video && key && t.seg_open && dts - t.end_dts > kStoppedVideo) {
    spdlog::info("{}: no media for {:.3f} s: listed as a gap", t.name, to_seconds(dts - t.end_dts));
    int64_t from = t.end_dts;
    SIGMA_RETURN_IF_ERROR(close_segment(t, from));
    SIGMA_RETURN_IF_ERROR(list_gap(t, from, dts));
  }

  if (t.seg_open) {
    bool cut;
    int64_t half = std::max<int64_t>(t.last_delta, 1) / 2;
    // With the target fixed, a segment that would outgrow it is cut here
    // even without a keyframe (the keyframe interval grew after it was
    // measured: a reconnect with other encoder settings, a variable GOP):
    // EXT-X-TARGETDURATION never changes, and the playlists drop
    // EXT-X-INDEPENDENT-SEGMENTS. The next keyframe then ends that
    // segment whatever its length, putting cuts back on keyframes.
    bool overflow = target_ > 0 && dts + pkt->duration - t.seg_start > max_segment_ticks();
    if (t.video || ti == ref_) {
      cut = key && (dts - t.seg_start >= seg_ticks_ - half || !t.seg_independent);
      if (!cut && overflow) {
        cut = true;
        if (!warned_forced_cut_)
          spdlog::warn("{}: {}: no keyframe within the {} s target duration: segment {} cut between keyframes "
                       "(not independent; set the encoder's keyframe interval to {} s or less)",
                       p_.label, t.name, target_, t.msn, target_);
        warned_forced_cut_ = true;
      }
    } else {
      while (!t.cuts.empty() && t.cuts.front() <= t.seg_start) t.cuts.pop_front();
      cut = !t.cuts.empty() && dts >= t.cuts.front() - half;
      if (cut) t.cuts.pop_front();
      // Audio follows the video's cuts; once the video has ended (or
      // stalled) it cuts on its own at the segment duration, and never
      // outgrows the target.
      else cut = overflow || (video_stopped(dts) && dts - t.seg_start >= seg_ticks_ - half);
    }
    if (cut) {
      SIGMA_RETURN_IF_ERROR(close_segment(t, dts));
      // Audio cuts where the video does. Any video track's cut counts (a
      // ladder's rungs cut together, so one that stopped, a shed rung, does
      // not hold the audio segment open); repeats of a cut are skipped.
      if (t.video || ti == ref_)
        for (auto& o : tracks_)
          if (!o->video && !o->muxed && o->index != ref_ && (o->cuts.empty() || dts > o->cuts.back() + half))
            o->cuts.push_back(dts);
    } else if (dts + pkt->duration - t.part_start > part_limit_) {
      // Parts never exceed the part target. A keyframe inside a segment
      // does not force a part: the short part before it would break the
      // rule that parts other than independent and final ones last at
      // least 85% of PART-TARGET. Where the grid meets the keyframes (30
      // fps, 1/3 s parts, 1 s GOP) those parts start on them anyway.
      SIGMA_RETURN_IF_ERROR(close_part(t, dts, false));
    }
  }

  if (pkt->flags & AV_PKT_FLAG_CORRUPT) spdlog::debug("{}: corrupt packet at {:.3f} s", t.name, to_seconds(dts));
  SIGMA_RETURN_IF_ERROR(ensure_muxer(t, pkt));
  if (!t.seg_open) SIGMA_RETURN_IF_ERROR(open_segment(t, dts, key));
  if (!t.part_open) SIGMA_RETURN_IF_ERROR(open_part(t, dts, key));

  advance(t, pkt);
  ++t.seg_frames;
  int64_t next_delta = std::max<int64_t>(pkt->duration, 1);
  pkt->stream_index = 0;
  SIGMA_RETURN_IF_ERROR(t.mux->write(pkt));
  // A part that another packet like this one would overflow is published
  // now rather than when the next packet arrives: that saves a frame
  // interval of latency (more, since a TS demuxer hands over a video frame
  // only once the next one starts). Not where the segment may end at the
  // next packet: whether that one is a keyframe is unknown, and the last
  // part of a segment is published together with its EXTINF.
  if (t.part_open && p_.part_duration > 0 && t.end_dts + next_delta - t.part_start > part_limit_) {
    // Other tracks cut where the reference track's keyframe lands, up to
    // a frame of either track earlier: kBackwardTolerance covers both.
    int64_t margin = t.video || t.index == ref_ ? next_delta / 2 : next_delta + kBackwardTolerance;
    bool may_end_segment = t.end_dts - t.seg_start >= seg_ticks_ - margin;
    if (!may_end_segment) SIGMA_RETURN_IF_ERROR(close_part(t, t.end_dts, false));
  }
  return {};
}

void Segmenter::advance(Track& t, const AVPacket* pkt) {
  if (t.last_dts != AV_NOPTS_VALUE && pkt->dts > t.last_dts) t.last_delta = pkt->dts - t.last_dts;
  t.last_dts = pkt->dts;
  t.end_dts = pkt->dts + pkt->duration;
  timeline_end_ = std::max(timeline_end_, t.end_dts);
}

// Each video track's file takes a copy of the audio frame, in whichever
// part is open when it arrives (a frame that straddles a cut lands in the
// next part: each track of a fragment carries its own decode time).
Status Segmenter::write_muxed_audio(Track& a, AVPacket* pkt) {
  Status st = strip_adts(a, pkt);
  if (st) {
    advance(a, pkt);
    for (auto& vp : tracks_) {
      Track& v = *vp;
      if (!v.video || !v.mux || !v.seg_open) continue;  // before its first keyframe
      if (pkt->dts > v.end_dts + kStoppedVideo) continue;  // stopped: no audio piles up in its open part
      av::PacketPtr copy(av_packet_clone(pkt));
      if (!copy) {
        st = internal_error("out of memory");
        break;
      }
      copy->stream_index = 1;
      st = v.mux->write(copy.get()).wrap(v.name);
      if (!st) break;
    }
  }
  av_packet_unref(pkt);
  return st;
}

namespace {
// ADTS (ISO/IEC 13818-7): the TS carries AAC with a 7- or 9-byte header on
// every frame; CMAF wants raw frames and the AudioSpecificConfig in the
// sample entry, which must exist before the (empty) moov is written. Built
// here from the first header: libavcodec's aac_adtstoasc only hands it over
// as packet side data, too late for empty_moov.
bool is_adts(const AVPacket* pkt) {
  return pkt->size > 7 && pkt->data[0] == 0xff && (pkt->data[1] & 0xf6) == 0xf0;
}

constexpr int kAacRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350};

// The two-byte AudioSpecificConfig: object type, frequency index, channel
// configuration (1-7; 7 is 7.1).
Status set_asc(AVCodecParameters* par, int aot, int sfi, int chan) {
  av_freep(&par->extradata);
  par->extradata = static_cast<uint8_t*>(av_mallocz(2 + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) return internal_error("out of memory");
  par->extradata[0] = static_cast<uint8_t>((aot << 3) | (sfi >> 1));
  par->extradata[1] = static_cast<uint8_t>(((sfi & 1) << 7) | (chan << 3));
  par->extradata_size = 2;
  par->sample_rate = kAacRates[sfi];
  par->frame_size = 1024;
  av_channel_layout_uninit(&par->ch_layout);
  av_channel_layout_default(&par->ch_layout, chan == 7 ? 8 : chan);
  return {};
}

Status set_asc_from_adts(AVCodecParameters* par, const uint8_t* h) {
  int sfi = (h[2] >> 2) & 0xf;
  int chan = ((h[2] & 1) << 2) | (h[3] >> 6);
  if (sfi > 12) return data_error("ADTS header with a reserved sampling frequency index");
  if (chan == 0) return data_error("ADTS with an in-band channel configuration (PCE) is not supported");
  return set_asc(par, ((h[2] >> 6) & 3) + 1, sfi, chan);
}

// A muxed variant's init segment needs the audio's ASC before its first
// ADTS frame may have arrived: the demuxer's probe has the same fields.
Status set_asc_from_par(AVCodecParameters* par) {
  int sfi = 0;
  while (sfi < 13 && kAacRates[sfi] != par->sample_rate) ++sfi;
  int n = par->ch_layout.nb_channels;
  int chan = n == 8 ? 7 : n;
  if (sfi == 13 || chan < 1 || chan > 7)
    return data_error("AAC of " + std::to_string(par->sample_rate) + " Hz, " + std::to_string(n) +
                      " channels has no AudioSpecificConfig to mux");
  return set_asc(par, par->profile >= 0 ? par->profile + 1 : 2, sfi, chan);
}
}  // namespace

Status Segmenter::strip_adts(Track& t, AVPacket* pkt) {
  if (t.par->codec_id != AV_CODEC_ID_AAC || !is_adts(pkt)) return {};
  // A muxed track's configuration is in use once the video tracks' init
  // segments carry it; a track of its own, once its muxer is open.
  bool in_use = t.par->extradata_size >= 2 && (t.muxed || t.mux);
  if (in_use) {
    // Same AudioSpecificConfig fields as the header? (object type,
    // frequency index, channel configuration: bits 16-25 of ADTS.)
    uint8_t asc0 = static_cast<uint8_t>(((((pkt->data[2] >> 6) & 3) + 1) << 3) | ((pkt->data[2] >> 3) & 7));
    uint8_t asc1 = static_cast<uint8_t>((((pkt->data[2] >> 2) & 1) << 7) | ((((pkt->data[2] & 1) << 2) | (pkt->data[3] >> 6)) << 3));
    if (asc0 != t.par->extradata[0] || asc1 != t.par->extradata[1]) {
      if (t.muxed) {
        SIGMA_RETURN_IF_ERROR(discontinuity_all(t.name + ": AAC configuration changed", false));
      } else {
        spdlog::warn("{}: AAC configuration changed: new init segment, discontinuity", t.name);
        if (t.seg_open) SIGMA_RETURN_IF_ERROR(close_segment(t, pkt->dts));
        t.mux.reset();
        t.pending_disc = true;
      }
      in_use = false;
    }
  }
  if (!in_use) SIGMA_RETURN_IF_ERROR(set_asc_from_adts(t.par.get(), pkt->data).wrap(t.name));
  int header = (pkt->data[1] & 1) ? 7 : 9;  // protection_absent = 0: a CRC follows
  // The packet's buffer stays referenced; only the view moves past the
  // header, so nothing is copied.
  pkt->data += header;
  pkt->size -= header;
  return {};
}

Status Segmenter::ensure_muxer(Track& t, AVPacket* pkt) {
  SIGMA_RETURN_IF_ERROR(strip_adts(t, pkt));
  if (t.mux) return {};
  const AVCodecParameters* par = t.par.get();
  std::vector<const AVCodecParameters*> pars{par};
  if (t.video && muxed_audio_ != kNoTrack) {
    AVCodecParameters* audio = tracks_[muxed_audio_]->par.get();
    if (audio->codec_id == AV_CODEC_ID_AAC && audio->extradata_size < 2)
      SIGMA_RETURN_IF_ERROR(set_asc_from_par(audio).wrap(tracks_[muxed_audio_]->name));
    pars.push_back(audio);
  }
  SIGMA_ASSIGN_OR_RETURN(t.mux, Fmp4Muxer::open(pars, k90k));
  InitReport rep;
  rep.track = t.index;
  rep.width = par->width;
  rep.height = par->height;
  rep.sample_rate = par->sample_rate;
  rep.channels = par->ch_layout.nb_channels;
  if (t.mux->init() == t.init_bytes) {
    rep.reused = true;
  } else {
    t.init_uri = init_name(t.msn, t.init_bytes.empty() && p_.first_msn == 0);
    t.init_bytes = t.mux->init();
    t.init_missing = true;
    SIGMA_RETURN_IF_ERROR(retry_init(t));
  }
  rep.uri = t.init_uri;
  auto codecs = hls::codec_string_from_init(t.init_bytes);
  if (!codecs) return codecs.status().wrap(t.name);
  rep.codecs = *codecs;
  return listener_.on_init(rep);
}

Status Segmenter::retry_init(Track& t) {
  if (!t.init_missing) return {};
  Status st = write_file_atomic(t.dir + "/" + t.init_uri, t.init_bytes);
  if (st) {
    t.init_missing = false;
    t.init_written = t.init_uri;
    return {};
  }
  // Its segments are lost until it is written: the next one tries again.
  if (lose_segment(t, "init " + t.name + "/" + t.init_uri, st)) return {};
  return st;
}

bool Segmenter::lose_segment(Track& t, const std::string& what, const Status& st) {
  if (!p_.health || st.code() != ExitCode::kSystem) return false;
  p_.health->failed(what, st);
  t.seg_file.discard();
  t.part_file.discard();
  t.seg_failed = true;
  return true;
}

Status Segmenter::open_segment(Track& t, int64_t dts, bool key) {
  t.seg_failed = false;
  SIGMA_RETURN_IF_ERROR(retry_init(t));
  if (!t.init_missing) {
    std::string uri = segment_name(p_.segment_prefix, t.msn);
    Status st = t.seg_file.open(t.dir + "/" + uri);
    if (!st && !lose_segment(t, "segment " + t.name + "/" + uri, st)) return st;
  } else {
    t.seg_failed = true;  // no init to map: the segment is a gap
  }
  t.seg_open = true;
  t.seg_start = dts;
  t.seg_pdt = pdt_ms(dts);
  t.seg_frames = 0;
  t.part_index = 0;
  t.seg_map = t.init_uri;
  t.seg_disc = t.pending_disc;
  t.pending_disc = false;
  t.seg_independent = !t.video || key;
  return {};
}

Status Segmenter::open_part(Track& t, int64_t dts, bool key) {
  t.part_open = true;
  t.part_start = dts;
  t.part_independent = key;
  if (p_.part_duration > 0 && !t.seg_failed) {
    std::string uri = part_name(p_.segment_prefix, t.msn, t.part_index);
    Status st = t.part_file.open(t.dir + "/" + uri);
    if (!st && !lose_segment(t, "part " + t.name + "/" + uri, st)) return st;
  }
  return {};
}

Status Segmenter::close_part(Track& t, int64_t end, bool last) {
  if (!t.part_open) return {};
  Status write_status;
  // A lost segment's fragments still leave the muxer (its state moves
  // on), into nothing.
  Fmp4Muxer::ByteSink sink = [&](const uint8_t* d, size_t n) {
    if (t.seg_failed) return true;
    write_status = t.seg_file.write(d, n);
    if (write_status && t.part_file.is_open()) write_status = t.part_file.write(d, n);
    return write_status.is_ok();
  };
  Status st = t.mux ? t.mux->flush(sink) : Status();
  if (!write_status) {
    if (!lose_segment(t, "segment " + t.name + "/" + segment_name(p_.segment_prefix, t.msn), write_status))
      return write_status;
    st = Status();  // the rest of the fragment went nowhere; the muxer is ready for the next
  }
  SIGMA_RETURN_IF_ERROR(st.wrap(t.name));
  t.part_open = false;
  if (t.seg_failed) {
    ++t.part_index;
    return {};
  }
  if (!t.part_file.is_open()) return {};
  PartReport r;
  r.track = t.index;
  r.msn = t.msn;
  r.index = t.part_index++;
  r.duration = to_seconds(end - t.part_start);
  r.independent = t.part_independent;
  r.uri = part_name(p_.segment_prefix, t.msn, r.index);
  r.bytes = t.part_file.size();
  r.last_in_segment = last;
  r.map_uri = t.seg_map;
  r.discontinuity = t.seg_disc;
  r.program_date_time_ms = t.seg_pdt;
  Status committed = t.part_file.commit();
  if (!committed) {
    if (!lose_segment(t, "part " + t.name + "/" + r.uri, committed)) return committed;
    return {};
  }
  return listener_.on_part(r);
}

Status Segmenter::close_segment(Track& t, int64_t end) {
  if (!t.seg_open) return {};
  SIGMA_RETURN_IF_ERROR(close_part(t, end, true));
  SegmentReport r;
  r.track = t.index;
  r.msn = t.msn;
  r.duration = to_seconds(end - t.seg_start);
  r.uri = segment_name(p_.segment_prefix, t.msn);
  r.map_uri = t.seg_map;
  r.bytes = t.seg_file.size();
  r.frames = t.seg_frames;
  r.discontinuity = t.seg_disc;
  r.program_date_time_ms = t.seg_pdt;
  r.parts = p_.part_duration > 0 ? t.part_index : 0;
  r.independent = t.seg_independent;
  uint64_t mark = p_.health ? p_.health->failures() : 0;
  if (!t.seg_failed) {
    Status committed = t.seg_file.commit();
    if (!committed && !lose_segment(t, "segment " + t.name + "/" + r.uri, committed)) return committed;
  }
  t.seg_open = false;
  ++t.msn;
  if (t.seg_failed) {
    // Listed as a gap: the playlist goes on, and names no file that is
    // not there (its parts published so far are unlisted).
    t.seg_failed = false;
    r.gap = true;
    r.bytes = 0;
    r.frames = 0;
    r.parts = 0;
    if (t.init_missing) r.map_uri = t.init_written;
    return listener_.on_segment(r);
  }
  SIGMA_RETURN_IF_ERROR(listener_.on_segment(r));
  // A whole segment written and published: whatever failed before is over.
  if (p_.health) p_.health->recovered_since(mark);
  return {};
}

// [from, to) in pieces of at most a segment, each a numbered segment
// with no file.
Status Segmenter::list_gap(Track& t, int64_t from, int64_t to) {
  while (to - from > kTicks / 100) {
    int64_t d = std::min(seg_ticks_, to - from);
    SegmentReport r;
    r.track = t.index;
    r.msn = t.msn++;
    r.duration = to_seconds(d);
    r.uri = segment_name(p_.segment_prefix, r.msn);
    r.map_uri = t.init_uri;
    r.program_date_time_ms = pdt_ms(from);
    r.gap = true;
    SIGMA_RETURN_IF_ERROR(listener_.on_segment(r));
    from += d;
  }
  return {};
}

Status Segmenter::end_input(bool final) {
  SIGMA_RETURN_IF_ERROR(settle_target_from_open_segments());
  for (auto& tp : tracks_) {
    Track& t = *tp;
    if (t.seg_open) SIGMA_RETURN_IF_ERROR(close_segment(t, t.end_dts));
    t.mux.reset();
    t.cuts.clear();
  }
  offset_set_ = false;
  return listener_.on_input_end(final);
}

void Segmenter::abort() {
  for (auto& t : tracks_) {
    t->seg_file.discard();
    t->part_file.discard();
    t->seg_open = t->part_open = false;
  }
}

}  // namespace sigma::package

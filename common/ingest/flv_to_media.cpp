#include "ingest/flv_to_media.h"

#include <cstring>

#include "base/log.h"

namespace sigma::ingest {

using rtmp::AudioCodec;
using rtmp::FlvPacket;
using rtmp::VideoCodec;

namespace {
// Media held while waiting for sequence headers: beyond this the muxer
// starts with what it has.
constexpr int64_t kMaxWaitMs = 3000;
constexpr size_t kMaxPendingBytes = 4 << 20;

AVCodecID to_av(VideoCodec c) {
  switch (c) {
    case VideoCodec::kH264: return AV_CODEC_ID_H264;
    case VideoCodec::kHevc: return AV_CODEC_ID_HEVC;
    case VideoCodec::kAv1: return AV_CODEC_ID_AV1;
    default: return AV_CODEC_ID_NONE;
  }
}
}  // namespace

FlvToMedia::FlvToMedia(std::vector<MediaSink*> sinks, std::function<void(const nlohmann::json&)> on_started)
    : sinks_(std::move(sinks)), on_started_(std::move(on_started)) {}

uint64_t FlvToMedia::dropped_packets() const {
  uint64_t n = dropped_;
  for (auto* s : sinks_) n += s->dropped_packets();
  return n;
}

Status FlvToMedia::finish_sinks() {
  Status first;
  for (auto* s : sinks_) {
    Status st = s->finish();
    if (first.is_ok()) first = st;
  }
  open_ = false;
  return first;
}

void FlvToMedia::set_metadata(const rtmp::AmfValue& meta) {
  // Publishers announce their tracks here; a missing codec id means the
  // track is absent, so we need not wait for its sequence header.
  bool has_v = meta.get("videocodecid") != nullptr;
  bool has_a = meta.get("audiocodecid") != nullptr;
  if (has_v || has_a) {
    expect_video_ = has_v;
    expect_audio_ = has_a;
  }
  if (auto w = meta.get_number("width")) meta_["width"] = int(*w);
  if (auto h = meta.get_number("height")) meta_["height"] = int(*h);
  if (auto f = meta.get_number("framerate")) meta_["fps"] = *f;
  double kbps = meta.get_number("videodatarate").value_or(0) + meta.get_number("audiodatarate").value_or(0);
  if (kbps > 0) meta_["bitrate_kbps"] = int(kbps);
  if (auto e = meta.get_string("encoder")) meta_["encoder"] = e->substr(0, 128);
}

nlohmann::json FlvToMedia::describe() const {
  nlohmann::json j = meta_;
  if (have_video_) j["video"] = rtmp::codec_name(vcodec_);
  if (have_audio_) {
    j["audio"] = rtmp::codec_name(acodec_);
    if (sample_rate_) j["sample_rate"] = sample_rate_;
    if (channels_) j["channels"] = channels_;
  }
  return j;
}

bool FlvToMedia::ready_to_start() const {
  if ((!expect_video_ || have_video_) && (!expect_audio_ || have_audio_) && (have_video_ || have_audio_))
    return true;
  if (pending_.empty()) return false;
  return pending_.back().dts - pending_.front().dts >= kMaxWaitMs || pending_bytes_ >= kMaxPendingBytes;
}

Status FlvToMedia::start() {
  if (!have_video_ && !have_audio_) return data_error("no sequence header received for any stream");
  std::vector<const AVCodecParameters*> pars;
  std::unique_ptr<AVCodecParameters, void (*)(AVCodecParameters*)> vp(avcodec_parameters_alloc(),
                                                                      [](AVCodecParameters* p) { avcodec_parameters_free(&p); });
  std::unique_ptr<AVCodecParameters, void (*)(AVCodecParameters*)> ap(avcodec_parameters_alloc(),
                                                                      [](AVCodecParameters* p) { avcodec_parameters_free(&p); });
  auto set_extradata = [](AVCodecParameters* p, const std::string& d) -> Status {
    if (d.empty()) return {};
    p->extradata = static_cast<uint8_t*>(av_mallocz(d.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!p->extradata) return internal_error("out of memory");
    std::memcpy(p->extradata, d.data(), d.size());
    p->extradata_size = int(d.size());
    return {};
  };
  vindex_ = aindex_ = -1;
  if (have_video_) {
    vp->codec_type = AVMEDIA_TYPE_VIDEO;
    vp->codec_id = to_av(vcodec_);
    if (meta_.contains("width")) vp->width = meta_["width"].get<int>();
    if (meta_.contains("height")) vp->height = meta_["height"].get<int>();
    SIGMA_RETURN_IF_ERROR(set_extradata(vp.get(), vconfig_));
    vindex_ = int(pars.size());
    pars.push_back(vp.get());
  }
  if (have_audio_) {
    ap->codec_type = AVMEDIA_TYPE_AUDIO;
    ap->codec_id = acodec_ == AudioCodec::kAac ? AV_CODEC_ID_AAC : AV_CODEC_ID_MP3;
    ap->sample_rate = sample_rate_;
    if (acodec_ == AudioCodec::kAac) ap->frame_size = 1024;
    av_channel_layout_default(&ap->ch_layout, channels_ > 0 ? channels_ : 2);
    SIGMA_RETURN_IF_ERROR(set_extradata(ap.get(), aconfig_));
    aindex_ = int(pars.size());
    pars.push_back(ap.get());
  }
  open_ = true;  // a sink that fails to open is finished with the others
  for (auto* s : sinks_) SIGMA_RETURN_IF_ERROR(s->open(pars));
  if (on_started_) on_started_(describe());
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    SIGMA_RETURN_IF_ERROR(write(p.video, p.key, p.dts, p.cts, p.data));
  }
  pending_bytes_ = 0;
  return {};
}

Status FlvToMedia::write(bool video, bool key, int64_t dts, int32_t cts, std::string_view data) {
  int index = video ? vindex_ : aindex_;
  if (index < 0) {
    ++dropped_;
    return {};
  }
  AVPacket* p = pkt_.get();
  int r = av_new_packet(p, int(data.size()));
  if (r < 0) return av::av_status(r, "allocate packet");
  std::memcpy(p->data, data.data(), data.size());
  p->dts = dts;
  p->pts = dts + cts;
  if (key || !video) p->flags |= AV_PKT_FLAG_KEY;
  if (video) ++video_frames_;
  // Every sink but the last gets a new reference to the same bytes.
  for (size_t i = 0; i + 1 < sinks_.size(); ++i) {
    r = av_packet_ref(copy_.get(), p);
    if (r < 0) return av::av_status(r, "reference packet");
    SIGMA_RETURN_IF_ERROR(sinks_[i]->write(index, copy_.get(), AVRational{1, 1000}));
  }
  if (sinks_.empty()) {
    av_packet_unref(p);
    return {};
  }
  return sinks_.back()->write(index, p, AVRational{1, 1000});
}

Status FlvToMedia::add(const FlvPacket& pkt, int64_t dts_ms) {
  if (pkt.kind == FlvPacket::Kind::kConfig) {
    // ffmpeg sends an empty sequence header when it copies from a source
    // whose extradata only arrives with the first packet; the real one
    // follows.
    if (pkt.data.empty()) return {};
    std::string cfg(pkt.data);
    bool changed;
    if (pkt.video) {
      changed = have_video_ && (cfg != vconfig_ || pkt.vcodec != vcodec_);
      vcodec_ = pkt.vcodec;
      vconfig_ = std::move(cfg);
      have_video_ = true;
    } else {
      if (pkt.acodec == AudioCodec::kAac) SIGMA_RETURN_IF_ERROR(rtmp::parse_aac_config(cfg, sample_rate_, channels_));
      changed = have_audio_ && (cfg != aconfig_ || pkt.acodec != acodec_);
      acodec_ = pkt.acodec;
      aconfig_ = std::move(cfg);
      have_audio_ = true;
    }
    if (changed && is_open()) {
      spdlog::info("{} sequence header changed: restarting the output", pkt.video ? "video" : "audio");
      SIGMA_RETURN_IF_ERROR(finish_sinks());
    } else if (is_open() && ((pkt.video && vindex_ < 0) || (!pkt.video && aindex_ < 0))) {
      // A track that showed up late: restart so it is in the PMT.
      SIGMA_RETURN_IF_ERROR(finish_sinks());
    }
    if (!is_open() && ready_to_start()) return start();
    return {};
  }
  if (pkt.kind != FlvPacket::Kind::kFrame) return {};
  if (!pkt.video && pkt.acodec == AudioCodec::kMp3 && !have_audio_) {
    acodec_ = AudioCodec::kMp3;
    sample_rate_ = pkt.sample_rate;
    channels_ = pkt.channels;
    have_audio_ = true;
  }
  // A frame whose decoder setup we never saw cannot be decoded downstream.
  if ((pkt.video && (!have_video_ || pkt.vcodec != vcodec_)) ||
      (!pkt.video && (!have_audio_ || pkt.acodec != acodec_))) {
    ++dropped_;
    return {};
  }
  if (is_open()) return write(pkt.video, pkt.keyframe, dts_ms, pkt.composition_ms, pkt.data);
  pending_.push_back({pkt.video, pkt.keyframe, dts_ms, pkt.composition_ms, std::string(pkt.data)});
  pending_bytes_ += pkt.data.size();
  if (ready_to_start()) return start();
  return {};
}

Status FlvToMedia::finish() {
  Status st;
  if (!is_open() && !pending_.empty() && (have_video_ || have_audio_)) {
    // A short publish that never completed its setup still gets out.
    st = start();
  }
  pending_.clear();
  pending_bytes_ = 0;
  Status fin = is_open() ? finish_sinks() : Status();
  return st.is_ok() ? fin : st;
}

}  // namespace sigma::ingest

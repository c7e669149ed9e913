#include "package/channel_packager.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "base/fs.h"
#include "base/log.h"
#include "package/event_listener.h"
#include "package/hls_publisher.h"
#include "package/naming.h"
#include "package/segmenter.h"

namespace sigma::package {

namespace {

bool supported(const AVCodecParameters* par) {
  switch (par->codec_id) {
    case AV_CODEC_ID_H264:
    case AV_CODEC_ID_HEVC:
    case AV_CODEC_ID_AAC:
    case AV_CODEC_ID_OPUS:
      return true;
    default:
      return false;
  }
}

// Track name of stream i by kind and order (first video -> v0, first
// audio -> a0); empty for what is never a track.
std::vector<std::string> kind_names(const std::vector<InputStream>& streams) {
  std::vector<std::string> out;
  int nv = 0, na = 0;
  for (auto& s : streams) {
    auto type = s.par->codec_type;
    if (type == AVMEDIA_TYPE_VIDEO && !s.attached_pic) out.push_back("v" + std::to_string(nv++));
    else if (type == AVMEDIA_TYPE_AUDIO) out.push_back("a" + std::to_string(na++));
    else out.emplace_back();
  }
  return out;
}

nlohmann::json describe(const AVCodecParameters* par, const std::string& name) {
  nlohmann::json j = {{"track", name}, {"codec", avcodec_get_name(par->codec_id)}};
  if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
    j["width"] = par->width;
    j["height"] = par->height;
  } else {
    j["sample_rate"] = par->sample_rate;
    j["channels"] = par->ch_layout.nb_channels;
  }
  return j;
}

// Where an earlier run over the same directory stopped: its playlists'
// next media sequence number and discontinuity count, so that a restart
// (the supervisor's) never reuses a file name a player may still fetch.
struct ResumePoint {
  int64_t next_msn = 0;
  int64_t discontinuity_sequence = 0;
  int target_duration = 0;  // the playlists' (it must not change within their life)
};

ResumePoint read_resume_point(const std::string& dir, const std::vector<std::string>& names) {
  ResumePoint rp;
  for (auto& name : names) {
    auto text = read_file(dir + "/" + name + "/" + kPlaylistName);
    if (!text) continue;
    int64_t seq = 0, disc_seq = 0, segments = 0, discs = 0;
    bool parts_after_last = false;
    size_t pos = 0;
    const std::string& t = *text;
    while (pos < t.size()) {
      size_t end = t.find('\n', pos);
      if (end == std::string::npos) end = t.size();
      std::string_view line(t.data() + pos, end - pos);
      auto num = [&](std::string_view tag) { return std::atoll(std::string(line.substr(tag.size())).c_str()); };
      if (line.rfind("#EXT-X-MEDIA-SEQUENCE:", 0) == 0) seq = num("#EXT-X-MEDIA-SEQUENCE:");
      else if (line.rfind("#EXT-X-DISCONTINUITY-SEQUENCE:", 0) == 0) disc_seq = num("#EXT-X-DISCONTINUITY-SEQUENCE:");
      else if (line.rfind("#EXT-X-TARGETDURATION:", 0) == 0)
        rp.target_duration = std::max(rp.target_duration, static_cast<int>(num("#EXT-X-TARGETDURATION:")));
      else if (line == "#EXT-X-DISCONTINUITY") ++discs;
      else if (line.rfind("#EXTINF:", 0) == 0) { ++segments; parts_after_last = false; }
      else if (line.rfind("#EXT-X-PART:", 0) == 0 || line.rfind("#EXT-X-PRELOAD-HINT:", 0) == 0) parts_after_last = true;
      pos = end + 1;
    }
    // Parts (or a hinted part) of an unfinished segment exist too: skip it.
    rp.next_msn = std::max(rp.next_msn, seq + segments + (parts_after_last ? 1 : 0));
    rp.discontinuity_sequence = std::max(rp.discontinuity_sequence, disc_seq + discs);
  }
  return rp;
}

}  // namespace

Status check_output_dir(const std::string& dir) {
  Status st = make_dirs(dir);
  if (!st && is_no_space(st)) return system_error("output directory " + dir + ": " + st.message());
  if (!st) return usage_error("output directory " + dir + " cannot be used: " + st.message());
  std::string probe = dir + "/.sigma-package-probe";
  st = write_file_atomic(probe, "");
  // A full disk passes (exit 111: the supervisor retries); a directory
  // that cannot be written does not.
  if (!st && is_no_space(st)) return system_error("output directory " + dir + " is full: " + st.message());
  if (!st) return usage_error("output directory " + dir + " is not writable: " + st.message());
  ::unlink(probe.c_str());
  return {};
}

ChannelPackager::ChannelPackager(PackageParams p, EventWriter& events)
    : p_(std::move(p)), events_(events), health_(&events_, p_.channel, "package") {}

ChannelPackager::~ChannelPackager() = default;

int64_t ChannelPackager::segments() const { return listener_ ? listener_->segments() : 0; }
int64_t ChannelPackager::dropped_packets() const { return segmenter_ ? segmenter_->dropped_packets() : 0; }

// Chooses the tracks of the first input; refuses audio/video codecs this
// packager cannot put in CMAF rather than silently dropping them.
Status ChannelPackager::open(const std::vector<InputStream>& streams, const std::string& label) {
  auto kinds = kind_names(streams);
  std::vector<const AVCodecParameters*> pars;
  for (size_t i = 0; i < streams.size(); ++i) {
    const AVCodecParameters* par = streams[i].par;
    if (kinds[i].empty()) continue;
    if (par->codec_id == AV_CODEC_ID_NONE) {
      spdlog::warn("stream {}: unknown codec, ignored", i);
      continue;
    }
    if (!supported(par))
      return data_error("stream " + std::to_string(i) + " of " + label + ": codec " + avcodec_get_name(par->codec_id) +
                        " is not supported (H.264, HEVC, AAC, Opus)");
    if (par->codec_type == AVMEDIA_TYPE_VIDEO && (par->width <= 0 || par->height <= 0))
      return data_error("stream " + std::to_string(i) + ": video without dimensions (no SPS found)");
    names_.push_back(kinds[i]);
    pars.push_back(par);
  }
  if (names_.empty()) return data_error(label + ": no video or audio stream in the input");
  // Muxed audio: the video tracks' files carry the first audio track, which
  // is added to the segmenter last (the publisher's tracks keep indices
  // 0..published-1); other audio tracks have no place and are dropped.
  size_t published = names_.size();
  bool any_video = std::any_of(pars.begin(), pars.end(), [](auto* par) { return par->codec_type == AVMEDIA_TYPE_VIDEO; });
  if (p_.audio == "muxed" && any_video) {
    std::vector<size_t> order;
    for (size_t t = 0; t < pars.size(); ++t)
      if (pars[t]->codec_type == AVMEDIA_TYPE_VIDEO) order.push_back(t);
    published = order.size();
    for (size_t t = 0; t < pars.size(); ++t) {
      if (pars[t]->codec_type == AVMEDIA_TYPE_VIDEO) continue;
      if (order.size() == published) order.push_back(t);
      else spdlog::warn("{}: audio track {} dropped: one audio track is muxed into the variants", label, names_[t]);
    }
    std::vector<std::string> names;
    std::vector<const AVCodecParameters*> ordered;
    for (size_t t : order) {
      names.push_back(names_[t]);
      ordered.push_back(pars[t]);
    }
    names_ = std::move(names);
    pars = std::move(ordered);
  }
  std::vector<std::string> published_names(names_.begin(), names_.begin() + static_cast<long>(published));
  for (auto& n : published_names) SIGMA_RETURN_IF_ERROR(make_dirs(p_.out_dir + "/" + n));
  ResumePoint resume = read_resume_point(p_.out_dir, published_names);
  if (resume.next_msn > 0)
    spdlog::info("{} holds an earlier run: continuing at segment {} after a discontinuity", p_.out_dir,
                 resume.next_msn);
  SegmenterParams sp;
  sp.first_msn = resume.next_msn;
  // The playlists go on: so does their target duration.
  if (resume.next_msn > 0) sp.fixed_target = resume.target_duration;
  sp.out_dir = p_.out_dir;
  sp.segment_duration = p_.segment_duration;
  sp.part_duration = p_.mode == "ultra-low" ? p_.part_duration : 0;
  sp.segment_prefix = p_.segment_prefix;
  sp.max_gap = p_.max_gap;
  sp.label = p_.channel.empty() ? p_.out_dir : "channel " + p_.channel;
  sp.health = &health_;
  PublisherParams pp;
  pp.out_dir = p_.out_dir;
  // The segmenter fixes the target once it has seen the first keyframe
  // interval (0 here: the publisher writes no playlist before), or keeps
  // the earlier run's.
  pp.target_duration = sp.fixed_target;
  pp.part_target = sp.part_duration > 0 ? sp.part_duration + kPartSlack : 0;
  pp.window = p_.window;
  pp.keep = p_.keep;
  pp.segment_prefix = p_.segment_prefix;
  pp.first_msn = resume.next_msn;
  pp.discontinuity_sequence = resume.discontinuity_sequence;
  pp.health = &health_;
  std::vector<TrackInfo> infos;
  for (size_t t = 0; t < names_.size(); ++t) {
    if (t < published) infos.push_back({names_[t], pars[t]->codec_type == AVMEDIA_TYPE_VIDEO});
    tracks_json_.push_back(describe(pars[t], names_[t]));
    if (t >= published) tracks_json_.back()["muxed"] = true;
  }
  publisher_ = std::make_unique<HlsPublisher>(pp, infos);
  listener_ = std::make_unique<EventListener>(*publisher_, events_, p_.channel, p_.out_dir, published_names);
  segmenter_ = std::make_unique<Segmenter>(sp, *listener_);
  for (size_t t = 0; t < names_.size(); ++t) {
    if (t < published) segmenter_->add_track(names_[t], pars[t]);
    else segmenter_->add_muxed_audio(names_[t], pars[t]);
  }
  spdlog::info("packaging {} into {} ({} mode, {} s segments{}): {} track(s){}", label, p_.out_dir, p_.mode,
               p_.segment_duration, sp.part_duration > 0 ? fmt::format(", {:.3f} s parts", sp.part_duration) : "",
               names_.size(), published < names_.size() ? ", audio muxed into the video variants" : "");
  return {};
}

Status ChannelPackager::start_input(const std::vector<InputStream>& streams, int64_t start_us,
                                    const std::string& label) {
  if (!segmenter_) SIGMA_RETURN_IF_ERROR(open(streams, label));
  auto kinds = kind_names(streams);
  track_of_stream_.assign(streams.size(), -1);
  std::vector<const AVCodecParameters*> par_of_track(names_.size(), nullptr);
  for (size_t i = 0; i < streams.size(); ++i) {
    if (kinds[i].empty()) continue;
    if (!supported(streams[i].par)) {
      spdlog::warn("stream {}: codec {} not supported, ignored", i, avcodec_get_name(streams[i].par->codec_id));
      continue;
    }
    for (size_t t = 0; t < names_.size(); ++t)
      if (names_[t] == kinds[i]) {
        track_of_stream_[i] = static_cast<int>(t);
        par_of_track[t] = streams[i].par;
      }
    if (track_of_stream_[i] < 0) spdlog::warn("stream {} ({}) has no track from the first input, ignored", i, kinds[i]);
  }
  segmenter_->start_input(par_of_track, start_us);
  return {};
}

Status ChannelPackager::write(int stream, AVPacket* pkt, AVRational tb) {
  if (!segmenter_ || !has_track(stream)) {
    av_packet_unref(pkt);
    return {};
  }
  return segmenter_->write(static_cast<size_t>(track_of_stream_[stream]), pkt, tb);
}

Status ChannelPackager::end_input(bool final) {
  if (!segmenter_) return {};
  return segmenter_->end_input(final);
}

void ChannelPackager::abort() {
  if (segmenter_) segmenter_->abort();
}

}  // namespace sigma::package

#include "package/packager.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <memory>
#include <optional>

#include "av/av.h"
#include "av/fifo.h"
#include "base/events.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/signals.h"
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


// Stream i of an input -> track, by kind and order (first video -> v0, ...).
struct StreamMap {
  std::vector<int> track_of_stream;  // -1: ignored
  std::vector<const AVCodecParameters*> par_of_track;
};

Status check_output_dir(const std::string& dir) {
  Status st = make_dirs(dir);
  if (!st) return usage_error("output directory " + dir + " cannot be used: " + st.message());
  std::string probe = dir + "/.sigma-package-probe";
  st = write_file_atomic(probe, "");
  if (!st) return usage_error("output directory " + dir + " is not writable: " + st.message());
  ::unlink(probe.c_str());
  return {};
}

struct TrackPlan {
  std::string name;
  const AVCodecParameters* par;
};

// Chooses the tracks of the first input; refuses audio/video codecs this
// packager cannot put in CMAF rather than silently dropping them.
Result<std::vector<TrackPlan>> plan_tracks(AVFormatContext* in, const std::string& input) {
  std::vector<TrackPlan> plan;
  int nv = 0, na = 0;
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    const AVCodecParameters* par = in->streams[i]->codecpar;
    if (par->codec_type != AVMEDIA_TYPE_VIDEO && par->codec_type != AVMEDIA_TYPE_AUDIO) continue;
    if (par->codec_type == AVMEDIA_TYPE_VIDEO && (in->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC)) continue;
    if (par->codec_id == AV_CODEC_ID_NONE) {
      spdlog::warn("stream {}: unknown codec, ignored", i);
      continue;
    }
    if (!supported(par))
      return data_error("stream " + std::to_string(i) + " of " + redact_url(input) + ": codec " +
                        avcodec_get_name(par->codec_id) + " is not supported (H.264, HEVC, AAC, Opus)");
    bool video = par->codec_type == AVMEDIA_TYPE_VIDEO;
    if (video && (par->width <= 0 || par->height <= 0))
      return data_error("stream " + std::to_string(i) + ": video without dimensions (no SPS found)");
    plan.push_back({(video ? "v" + std::to_string(nv++) : "a" + std::to_string(na++)), par});
  }
  if (plan.empty()) return data_error(redact_url(input) + ": no video or audio stream in the input");
  return plan;
}

StreamMap map_streams(AVFormatContext* in, const std::vector<std::string>& track_names) {
  StreamMap m;
  m.track_of_stream.assign(in->nb_streams, -1);
  m.par_of_track.assign(track_names.size(), nullptr);
  int nv = 0, na = 0;
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    const AVCodecParameters* par = in->streams[i]->codecpar;
    std::string name;
    if (par->codec_type == AVMEDIA_TYPE_VIDEO && !(in->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
      name = "v" + std::to_string(nv++);
    else if (par->codec_type == AVMEDIA_TYPE_AUDIO)
      name = "a" + std::to_string(na++);
    else
      continue;
    if (!supported(par)) {
      spdlog::warn("stream {}: codec {} not supported, ignored", i, avcodec_get_name(par->codec_id));
      continue;
    }
    for (size_t t = 0; t < track_names.size(); ++t)
      if (track_names[t] == name) {
        m.track_of_stream[i] = static_cast<int>(t);
        m.par_of_track[t] = par;
      }
    if (m.track_of_stream[i] < 0) spdlog::warn("stream {} ({}) has no track from the first input, ignored", i, name);
  }
  return m;
}

nlohmann::json describe(const std::vector<TrackPlan>& plan) {
  nlohmann::json arr = nlohmann::json::array();
  for (auto& t : plan) {
    nlohmann::json j = {{"track", t.name}, {"codec", avcodec_get_name(t.par->codec_id)}};
    if (t.par->codec_type == AVMEDIA_TYPE_VIDEO) {
      j["width"] = t.par->width;
      j["height"] = t.par->height;
    } else {
      j["sample_rate"] = t.par->sample_rate;
      j["channels"] = t.par->ch_layout.nb_channels;
    }
    arr.push_back(j);
  }
  return arr;
}

// Where an earlier run over the same directory stopped: its playlists'
// next media sequence number and discontinuity count, so that a restart
// (the supervisor's) never reuses a file name a player may still fetch.
struct ResumePoint {
  int64_t next_msn = 0;
  int64_t discontinuity_sequence = 0;
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

Status resolve_params(PackageParams& p) {
  if (p.out_dir.empty()) return usage_error("no output directory (-o DIR)");
  bool ll = p.mode == "ultra-low";
  if (p.mode != "normal" && p.mode != "low" && !ll)
    return usage_error("--mode must be normal, low or ultra-low, not '" + p.mode + "'");
  if (p.segment_duration == 0) p.segment_duration = default_segment_duration(p.mode);
  if (p.segment_duration < 0.5 || p.segment_duration > 60)
    return usage_error("--segment-duration must be between 0.5 and 60 seconds");
  if (ll) {
    if (p.part_duration == 0) p.part_duration = 1.0 / 3;
    if (p.part_duration < 0.1 || p.part_duration > 1.0)
      return usage_error("--part-duration must be between 0.1 and 1 second");
    if (p.part_duration >= p.segment_duration)
      return usage_error("--part-duration must be shorter than --segment-duration");
  } else if (p.part_duration != 0) {
    return usage_error("--part-duration applies to --mode ultra-low only");
  }
  if (p.window < 0) p.window = p.mode == "normal" ? 6 : ll ? 12 : 10;
  if (p.max_gap <= 0) return usage_error("--max-gap must be positive");
  if (p.segment_prefix.empty() ||
      p.segment_prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
          std::string::npos)
    return usage_error("--segment-prefix may hold letters, digits and '_' only");
  return {};
}

Status run_package(PackageParams p, CommonOptions& common) {
  SIGMA_RETURN_IF_ERROR(resolve_params(p));
  av::route_av_logs_to_spdlog();
  // The TS demuxer narrates every resync ("changing packet size to 204")
  // as a warning; a corrupt input is reported once, by us, instead.
  if (spdlog::default_logger()->level() > spdlog::level::debug) av_log_set_level(AV_LOG_ERROR);
  SIGMA_RETURN_IF_ERROR(check_output_dir(p.out_dir));
  EventWriter events;
  SIGMA_RETURN_IF_ERROR(events.open(common.events));
  notify_ready(common.ready_fd);

  const bool fifo = av::is_fifo(p.input) && !p.once;
  std::unique_ptr<Segmenter> segmenter;
  std::unique_ptr<HlsPublisher> publisher;
  std::unique_ptr<EventListener> listener;
  std::vector<std::string> names;
  std::vector<TrackPlan> plan;
  av::PacketPtr pkt = av::make_packet();
  int64_t total_packets = 0, corrupt = 0;
  bool stopped = false;
  bool segmenter_final = false;

  for (int attempt = 0;; ++attempt) {
    av::InputOptions io;
    io.format = "mpegts";
    io.analyzeduration = 2'000'000;
    int guard = -1;
    if (fifo) {
      SIGMA_ASSIGN_OR_RETURN(guard, av::wait_for_fifo_data(p.input));
      if (guard < 0) {
        stopped = true;
        break;
      }
    }
    auto opened = av::open_input(p.input, io);
    if (guard >= 0) ::close(guard);  // the real reader is open now
    if (stop_requested()) {
      stopped = true;
      break;
    }
    if (!opened) {
      Status st = opened.status();
      if (st.message().find("End of file") != std::string::npos ||
          st.message().find("Invalid data") != std::string::npos) {
        // A FIFO writer that came and went without a byte is not bad
        // media: wait for the next one. Garbage on a FIFO is, once media
        // has never been seen.
        if (fifo && (segmenter || st.message().find("End of file") != std::string::npos)) {
          spdlog::warn("{}; waiting for the writer to come back", st.message());
          continue;
        }
        struct stat sb {};
        if (st.message().find("End of file") != std::string::npos &&
            (p.input == "-" ? ::fstat(0, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0
                            : ::stat(p.input.c_str(), &sb) == 0 && sb.st_size == 0))
          return data_error("input " + redact_url(p.input) + " is empty");
        return data_error("input " + redact_url(p.input) + " is not MPEG-TS (or is empty)");
      }
      if (segmenter) {
        // Packaged output stays valid: close what we have as a clean end.
        SIGMA_RETURN_IF_ERROR(segmenter->end_input(true));
      }
      return st;
    }
    av::InputPtr in = std::move(*opened);

    StreamMap map;
    if (!segmenter) {
      SIGMA_ASSIGN_OR_RETURN(plan, plan_tracks(in.get(), p.input));
      for (auto& t : plan) {
        names.push_back(t.name);
        SIGMA_RETURN_IF_ERROR(make_dirs(p.out_dir + "/" + t.name));
      }
      ResumePoint resume = read_resume_point(p.out_dir, names);
      if (resume.next_msn > 0)
        spdlog::info("{} holds an earlier run: continuing at segment {} after a discontinuity", p.out_dir,
                     resume.next_msn);
      SegmenterParams sp;
      sp.first_msn = resume.next_msn;
      sp.out_dir = p.out_dir;
      sp.segment_duration = p.segment_duration;
      sp.part_duration = p.mode == "ultra-low" ? p.part_duration : 0;
      sp.segment_prefix = p.segment_prefix;
      sp.max_gap = p.max_gap;
      PublisherParams pp;
      pp.out_dir = p.out_dir;
      pp.target_duration = static_cast<int>(std::lround(std::ceil(p.segment_duration - 1e-3)));
      pp.part_target = sp.part_duration;
      pp.window = p.window;
      pp.keep = p.keep;
      pp.segment_prefix = p.segment_prefix;
      pp.first_msn = resume.next_msn;
      pp.discontinuity_sequence = resume.discontinuity_sequence;
      std::vector<TrackInfo> infos;
      for (auto& t : plan) infos.push_back({t.name, t.par->codec_type == AVMEDIA_TYPE_VIDEO});
      publisher = std::make_unique<HlsPublisher>(pp, infos);
      listener = std::make_unique<EventListener>(*publisher, events, p.channel, p.out_dir, names);
      segmenter = std::make_unique<Segmenter>(sp, *listener);
      for (auto& t : plan) segmenter->add_track(t.name, t.par);
      spdlog::info("packaging {} into {} ({} mode, {} s segments{}): {} track(s)", redact_url(p.input), p.out_dir,
                   p.mode, p.segment_duration,
                   sp.part_duration > 0 ? fmt::format(", {:.3f} s parts", sp.part_duration) : "", plan.size());
      events.emit("stream.started", p.channel,
                  {{"input", redact_url(p.input)}, {"output", p.out_dir}, {"mode", p.mode}, {"tracks", describe(plan)}});
    } else {
      spdlog::info("input {} is back: continuing after a discontinuity", redact_url(p.input));
      events.emit("stream.started", p.channel,
                  {{"input", redact_url(p.input)}, {"output", p.out_dir}, {"mode", p.mode}, {"resumed", true}});
    }
    map = map_streams(in.get(), names);
    segmenter->start_input(map.par_of_track, in->start_time);

    int64_t packets_this_input = 0;
    Status failure;
    for (;;) {
      int r = av_read_frame(in.get(), pkt.get());
      if (r == AVERROR(EAGAIN)) continue;
      if (r < 0) {
        if (stop_requested() || r == AVERROR_EXIT) {
          stopped = true;
        } else if (r != AVERROR_EOF) {
          spdlog::warn("read {}: {}", redact_url(p.input), av::error_string(r));
        }
        break;
      }
      int si = pkt->stream_index;
      if (si < 0 || si >= static_cast<int>(map.track_of_stream.size()) || map.track_of_stream[si] < 0) {
        av_packet_unref(pkt.get());
        continue;
      }
      if (pkt->flags & AV_PKT_FLAG_CORRUPT) ++corrupt;
      ++packets_this_input;
      failure = segmenter->write(static_cast<size_t>(map.track_of_stream[si]), pkt.get(), in->streams[si]->time_base);
      if (!failure) break;
    }
    total_packets += packets_this_input;
    if (!failure) {
      segmenter->abort();
      // What is already published stays valid: its files are complete.
      return failure;
    }
    bool final = stopped || !fifo;
    if (total_packets == 0 && final && !stopped) return data_error("input " + redact_url(p.input) + " holds no media packets");
    SIGMA_RETURN_IF_ERROR(segmenter->end_input(final));
    events.emit("stream.ended", p.channel,
                {{"reason", stopped ? "stopped" : final ? "end of input" : "input closed"},
                 {"final", final},
                 {"segments", listener->segments()}});
    if (final) {
      segmenter_final = true;
      break;
    }
    spdlog::warn("input {} closed: waiting for a writer (playlists stay live)", redact_url(p.input));
  }
  if (stopped && segmenter && !segmenter_final) {
    // Stopped while waiting for a FIFO writer: end the playlists now.
    SIGMA_RETURN_IF_ERROR(segmenter->end_input(true));
    events.emit("stream.ended", p.channel, {{"reason", "stopped"}, {"final", true}, {"segments", listener->segments()}});
  }
  if (corrupt > 0) spdlog::warn("{} corrupt packet(s) in the input were packaged as they came", corrupt);
  if (segmenter && segmenter->dropped_packets() > 0)
    spdlog::info("{} packet(s) dropped (before the first keyframe, or without timestamps)", segmenter->dropped_packets());
  return {};
}

}  // namespace sigma::package

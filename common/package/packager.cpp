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
#include "package/channel_packager.h"

namespace sigma::package {

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
  if (p.audio.empty()) p.audio = ll ? "muxed" : "separate";
  if (p.audio != "muxed" && p.audio != "separate")
    return usage_error("--audio must be muxed or separate, not '" + p.audio + "'");
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
  ChannelPackager packager(p, events);
  av::PacketPtr pkt = av::make_packet();
  int64_t total_packets = 0, corrupt = 0;
  bool stopped = false, removed = false;
  bool segmenter_final = false;
  const std::string label = redact_url(p.input);

  for (int attempt = 0;; ++attempt) {
    av::InputOptions io;
    io.format = "mpegts";
    io.analyzeduration = 2'000'000;
    int guard = -1;
    if (fifo) {
      SIGMA_ASSIGN_OR_RETURN(guard, av::wait_for_fifo_data(p.input));
      if (guard == av::kFifoRemoved) {
        // The FIFO was taken away (its channel removed): no writer can
        // come back, so the stream ends here, as if stopped.
        spdlog::info("input {} removed: ending the playlists", label);
        removed = true;
        break;
      }
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
        if (fifo && (packager.started() || st.message().find("End of file") != std::string::npos)) {
          spdlog::warn("{}; waiting for the writer to come back", st.message());
          continue;
        }
        struct stat sb {};
        if (st.message().find("End of file") != std::string::npos &&
            (p.input == "-" ? ::fstat(0, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0
                            : ::stat(p.input.c_str(), &sb) == 0 && sb.st_size == 0))
          return data_error("input " + label + " is empty");
        return data_error("input " + label + " is not MPEG-TS (or is empty)");
      }
      if (packager.started()) {
        // Packaged output stays valid: close what we have as a clean end.
        SIGMA_RETURN_IF_ERROR(packager.end_input(true));
      }
      return st;
    }
    av::InputPtr in = std::move(*opened);

    std::vector<InputStream> streams;
    for (unsigned i = 0; i < in->nb_streams; ++i)
      streams.push_back({in->streams[i]->codecpar, (in->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0});
    bool resumed = packager.started();
    if (resumed) spdlog::info("input {} is back: continuing after a discontinuity", label);
    SIGMA_RETURN_IF_ERROR(packager.start_input(streams, in->start_time, label));
    if (!resumed)
      events.emit("stream.started", p.channel,
                  {{"input", label}, {"output", p.out_dir}, {"mode", p.mode}, {"tracks", packager.tracks()}});
    else
      events.emit("stream.started", p.channel,
                  {{"input", label}, {"output", p.out_dir}, {"mode", p.mode}, {"resumed", true}});

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
      if (!packager.has_track(si)) {
        av_packet_unref(pkt.get());
        continue;
      }
      if (pkt->flags & AV_PKT_FLAG_CORRUPT) ++corrupt;
      ++packets_this_input;
      failure = packager.write(si, pkt.get(), in->streams[si]->time_base);
      if (!failure) break;
    }
    total_packets += packets_this_input;
    if (!failure) {
      packager.abort();
      // What is already published stays valid: its files are complete.
      return failure;
    }
    bool final = stopped || !fifo;
    if (total_packets == 0 && final && !stopped) return data_error("input " + label + " holds no media packets");
    SIGMA_RETURN_IF_ERROR(packager.end_input(final));
    events.emit("stream.ended", p.channel,
                {{"reason", stopped ? "stopped" : final ? "end of input" : "input closed"},
                 {"final", final},
                 {"segments", packager.segments()}});
    if (final) {
      segmenter_final = true;
      break;
    }
    spdlog::warn("input {} closed: waiting for a writer (playlists stay live)", redact_url(p.input));
  }
  if ((stopped || removed) && packager.started() && !segmenter_final) {
    // Stopped, or the FIFO removed, while waiting for a writer: end the
    // playlists now.
    SIGMA_RETURN_IF_ERROR(packager.end_input(true));
    events.emit("stream.ended", p.channel,
                {{"reason", removed ? "input removed" : "stopped"}, {"final", true}, {"segments", packager.segments()}});
  }
  if (corrupt > 0) spdlog::warn("{} corrupt packet(s) in the input were packaged as they came", corrupt);
  if (packager.dropped_packets() > 0)
    spdlog::info("{} packet(s) dropped (before the first keyframe, or without timestamps)", packager.dropped_packets());
  return {};
}

}  // namespace sigma::package

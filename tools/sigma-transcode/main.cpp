// sigma-transcode: MPEG-TS in, one MPEG-TS out with one H.264 stream per
// ladder rung (keyframes aligned) plus audio. See sigma-transcode(1).
#include "base/cli.h"
#include "base/events.h"
#include "transcode/ladder.h"
#include "transcode/transcoder.h"

int main(int argc, char** argv) {
  CLI::App app{"sigma-transcode: decode once, encode an ABR ladder with aligned keyframes into one MPEG-TS. "
               "See sigma-transcode(1)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  sigma::transcode::TranscodeParams p;
  std::string abitrate = "128k";
  app.add_option("-i,--input", p.input, "input: '-' (stdin), a file, a FIFO (reopened when it ends) or a URL")
      ->capture_default_str();
  app.add_option("-o,--output", p.output, "output MPEG-TS: '-' (stdout), a path or a URL")->capture_default_str();
  app.add_option("--preset", p.preset, "ladder preset: 1080p, 720p, 480p, source+720p")->capture_default_str();
  app.add_option("--ladder", p.ladder, "custom ladder: WxH@RATE[:maxrate=R][:bufsize=S][:fps=half],...|source");
  app.add_option("--mode", p.mode, "latency mode: normal, low, ultra-low")->capture_default_str();
  app.add_option("--keyframe-interval", p.keyframe_interval, "seconds between keyframes (default 2, ultra-low 1)");
  app.add_option("--segment-duration", p.segment_duration, "check that the keyframe interval divides this");
  app.add_option("--x264-preset", p.x264_preset, "x264 speed preset (veryfast: with subme=1, see the man page)")
      ->capture_default_str();
  app.add_option("--x264-params", p.x264_params, "x264 options for every rung, key=value:... (subme=2: x264's own veryfast)");
  app.add_option("--half-fps-below", p.half_fps_at_or_below, "rungs this tall or smaller run at half frame rate");
  app.add_option("--scaler", p.scaler, "bicubic, bilinear, fast_bilinear, area, lanczos, spline")->capture_default_str();
  app.add_option("--cascade-scaler", p.cascade_scaler, "scaler from a larger rung's frame")->capture_default_str();
  app.add_flag("!--no-cascade", p.cascade, "scale every rung from the decoded frame, not the next larger rung");
  app.add_option("--encoder-threads", p.encoder_threads, "x264 threads per rung (0: x264 decides)")
      ->check(CLI::Range(0, 16))->capture_default_str();
  app.add_option("--decoder-threads", p.decoder_threads, "decoder frame threads (0: one per core + 1)")
      ->check(CLI::Range(0, 16))->capture_default_str();
  app.add_option("--max-lag", p.max_lag, "seconds behind a live input before shedding a rung (0: never)")
      ->check(CLI::Range(0.0, 600.0))->capture_default_str();
  app.add_option("--recover-after", p.recover_after,
                 "seconds of keeping up before a shed rung comes back (0: never; doubles if it flaps)")
      ->check(CLI::Range(0.0, 3600.0))->capture_default_str();
  // Test only, hidden from --help: makes the largest rung the slow one.
  app.add_option("--test-slow-rung", p.test_slow_rung_ms)->check(CLI::Range(0, 10000))->group("");
  app.add_option("--audio-bitrate", abitrate, "AAC bitrate when audio is encoded")->capture_default_str();
  app.add_option("--channel", p.channel, "channel name carried in events");
  return sigma::run_main(app, argc, argv, "sigma-transcode", common, [&]() -> sigma::Status {
    auto rate = sigma::transcode::parse_rate(abitrate);
    if (!rate) return rate.status().wrap("--audio-bitrate");
    p.audio_bitrate = *rate;
    p.ready_fd = common.ready_fd;
    sigma::EventWriter events;
    SIGMA_RETURN_IF_ERROR_CTX(events.open(common.events), "--events");
    return sigma::transcode::run_transcode(p, events);
  });
}

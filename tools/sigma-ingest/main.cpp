// sigma-ingest: RTMP/SRT ingest server and pull relay; MPEG-TS out per
// channel, or HLS packaged in-process. See sigma-ingest(1).
#include "base/cli.h"
#include "ingest/server.h"

int main(int argc, char** argv) {
  CLI::App app{"sigma-ingest: take RTMP/SRT publishers (or pull URLs) and write one MPEG-TS per channel "
               "(or its HLS). "
               "See sigma-ingest(1)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  sigma::ingest::IngestParams p;
  app.add_option("--rtmp", p.rtmp_listen, "RTMP listen address HOST:PORT (default :1935 when no other input)");
  app.add_option("--srt", p.srt_listen, "SRT listen address HOST:PORT");
  app.add_option("--srt-passphrase-file", p.srt_passphrase_file, "file holding the SRT passphrase (10-79 chars)")
      ->check(CLI::ExistingFile);
  app.add_option("--srt-latency", p.srt_latency_ms, "SRT latency in ms")->capture_default_str()->check(CLI::Range(20, 10000));
  app.add_option("--whip", p.whip_listen, "WHIP (WebRTC publish) HTTP listen address HOST:PORT: POST /whip/CHANNEL");
  app.add_option("--whip-udp", p.whip_udp, "WHIP ICE: UDP [ADDR:]MIN-MAX (default: every address, any port)");
  app.add_option("--whip-keyframe-interval", p.whip_keyframe_interval,
                 "WHIP: ask for a keyframe every S seconds (default: the channel's segment duration, else 2)")
      ->check(CLI::Range(0.2, 60.0));
  app.add_option("--keys", p.keys_file, "stream keys file: 'CHANNEL SECRET' per line");
  app.add_flag("--open", p.open_mode, "development: any key is accepted and names the channel");
  app.add_flag("--replace", p.replace, "a new publisher on a live channel replaces the current one");
  app.add_flag("--listed-only", p.listed_only,
               "take publishers only for the channels --hls-channel or the --channels file names (others: refused)");
  app.add_option("-i,--input", p.inputs, "pull input URL (file, FIFO, rtmp://, srt://, http(s) HLS, ...)");
  app.add_option("--channel", p.channels, "channel name of each -i input (or the only channel on stdout)");
  app.add_option("-o,--output", p.output_template, "output path per channel, '{channel}' replaced (default: stdout)");
  app.add_option("--hls", p.hls_template, "package every channel into HLS in-process, in this directory ('{channel}' replaced)");
  app.add_option("--hls-channel", p.hls_channels,
                 "package one channel in-process: NAME=DIR[,mode=M][,segment-duration=S][,part-duration=S][,window=N][,audio=A]");
  app.add_option("--channels", p.channels_file,
                 "file of --hls-channel specs, one a line (NAME alone: record= only); re-read on SIGHUP");
  app.add_option("--restream", p.restream,
                 "push a channel's RTMP publishes to CHANNEL.NAME=URL (rtmp://, rtmps://, srt://); repeatable");
  app.add_option("--mode", p.hls_defaults.mode, "HLS latency mode: normal, low or ultra-low")->capture_default_str();
  app.add_option("--segment-duration", p.hls_defaults.segment_duration, "HLS segment length, s (default: the mode's)");
  app.add_option("--part-duration", p.hls_defaults.part_duration, "LL-HLS part length, s (ultra-low; default 1/3)");
  app.add_option("--window", p.hls_defaults.window, "segments per HLS playlist (default: the mode's; 0: all)");
  app.add_option("--hls-audio", p.hls_defaults.audio, "HLS audio: muxed into the video variants or separate "
                                                      "(default: muxed in ultra-low)")
      ->check(CLI::IsMember({"muxed", "separate"}));
  app.add_option("--record", p.record_dir, "keep each session's source as DIR/CHANNEL-START.ts");
  app.add_option("--status-file", p.status_file, "JSON status rewritten every second");
  app.add_option("--buffer", p.buffer_kib, "output buffer per channel, KiB")->capture_default_str();
  app.add_option("--timeout", p.timeout_s, "seconds of silence before a publisher is dropped")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  app.add_option("--max-connections", p.max_connections, "RTMP connections at once")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--max-message", p.max_message_kib, "largest RTMP message (a video frame), KiB")
      ->capture_default_str()->check(CLI::Range(64, 65536));
  return sigma::run_main(app, argc, argv, "sigma-ingest", common, [&] {
    if (p.rtmp_listen.empty() && p.srt_listen.empty() && p.whip_listen.empty() && p.inputs.empty()) p.rtmp_listen = ":1935";
    return sigma::ingest::run_ingest(p, common);
  });
}
